import Foundation
import TesseraIR

/// Errors reading or writing NumPy `.npy` files; each names the file and what was wrong.
public enum NPYError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The file could not be read or written.
  case io(file: String, message: String)
  /// The header is missing, truncated or not what the format says.
  case malformed(file: String, message: String)
  /// The array is valid NumPy but Tessera does not take it (Fortran order, big-endian, objects…).
  case unsupported(file: String, message: String)

  /// `file: message`.
  public var description: String {
    switch self {
    case .io(let file, let message): "\(file): \(message)"
    case .malformed(let file, let message): "\(file): not a valid .npy file: \(message)"
    case .unsupported(let file, let message): "\(file): unsupported .npy array: \(message)"
    }
  }
}

/// Reads and writes NumPy `.npy` files: format versions 1–3, little-endian f32, f16, i64, i32,
/// i8, u8 and bool arrays in C order.
public enum NPY {
  private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
  private static let descriptors: [(String, DType)] = [
    ("f4", .f32), ("f2", .f16), ("i8", .i64), ("i4", .i32), ("i1", .i8), ("u1", .u8), ("b1", .bool),
  ]

  /// Decodes the bytes of a `.npy` file; `file` names it in errors.
  public static func decode(_ bytes: [UInt8], file: String = "<npy>") throws(NPYError) -> Tensor {
    guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
      throw .malformed(file: file, message: "missing the \\x93NUMPY magic string")
    }
    let major = bytes[6]
    let headerLengthSize: Int
    switch major {
    case 1: headerLengthSize = 2
    case 2, 3: headerLengthSize = 4
    default: throw .unsupported(file: file, message: "format version \(major).\(bytes[7]) (expected 1, 2 or 3)")
    }
    guard bytes.count >= 8 + headerLengthSize else { throw .malformed(file: file, message: "truncated header length") }
    var headerLength = 0
    for i in 0..<headerLengthSize { headerLength |= Int(bytes[8 + i]) << (8 * i) }
    let headerStart = 8 + headerLengthSize
    guard headerLength <= bytes.count - headerStart else {
      throw .malformed(
        file: file, message: "header of \(headerLength) bytes runs past the end of the file (\(bytes.count) bytes)")
    }
    guard
      let header = String(
        bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: major == 3 ? .utf8 : .isoLatin1)
    else {
      throw .malformed(file: file, message: "header is not text")
    }
    var parser = HeaderParser(text: header, file: file)
    let fields = try parser.dictionary()
    let type = try tensorType(fields, file: file)
    let dataStart = headerStart + headerLength
    let expected = type.storageBytes!
    guard bytes.count - dataStart == expected else {
      throw .malformed(
        file: file, message: "\(type) needs \(expected) data bytes, the file has \(bytes.count - dataStart)")
    }
    return Tensor(type: type, bytes: Array(bytes[dataStart...]))!
  }

  /// Encodes a tensor as a version 1.0 `.npy` file (version 2.0 when the header needs it).
  /// bf16 and quantized tensors have no NumPy dtype: cast them first.
  public static func encode(_ tensor: Tensor, file: String = "<npy>") throws(NPYError) -> [UInt8] {
    guard let code = descriptors.first(where: { $0.1 == tensor.dtype })?.0 else {
      throw .unsupported(file: file, message: "\(tensor.dtype) has no NumPy dtype; cast it to f32 first")
    }
    let order = tensor.dtype.byteWidth == 1 ? "|" : "<"
    let dims = tensor.shape.dims.map(String.init)
    let shapeText = "(" + dims.joined(separator: ", ") + (dims.count == 1 ? ",)" : ")")
    var header = "{'descr': '\(order)\(code)', 'fortran_order': False, 'shape': \(shapeText), }"
    let version1 = header.utf8.count + 11 < 65536
    let prefix = 6 + 2 + (version1 ? 2 : 4)
    let padding = (64 - (prefix + header.utf8.count + 1) % 64) % 64
    header += String(repeating: " ", count: padding) + "\n"
    var bytes = magic + [version1 ? 1 : 2, 0]
    let length = header.utf8.count
    for i in 0..<(version1 ? 2 : 4) { bytes.append(UInt8(truncatingIfNeeded: length >> (8 * i))) }
    return bytes + Array(header.utf8) + tensor.bytes
  }

  /// Reads a `.npy` file.
  public static func read(path: String) throws(NPYError) -> Tensor {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .io(file: path, message: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
    }
    return try decode([UInt8](data), file: path)
  }

  /// Writes a `.npy` file.
  public static func write(_ tensor: Tensor, path: String) throws(NPYError) {
    let bytes = try encode(tensor, file: path)
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
      throw .io(file: path, message: "cannot be written")
    }
  }

  private static func tensorType(_ fields: [String: HeaderValue], file: String) throws(NPYError) -> TensorType {
    guard case .string(let descr)? = fields["descr"] else {
      throw .malformed(file: file, message: "header has no 'descr' string")
    }
    guard case .bool(let fortran)? = fields["fortran_order"] else {
      throw .malformed(file: file, message: "header has no 'fortran_order' flag")
    }
    guard case .tuple(let dims)? = fields["shape"] else {
      throw .malformed(file: file, message: "header has no 'shape' tuple")
    }
    if fortran {
      throw .unsupported(file: file, message: "Fortran order; save a C-ordered array (np.ascontiguousarray)")
    }
    guard descr.count == 3, let order = descr.first else {
      throw .unsupported(file: file, message: "dtype '\(descr)' (object, structured or unknown dtypes cannot be read)")
    }
    let code = String(descr.dropFirst())
    if order == ">" && code != "i1" && code != "u1" && code != "b1" {
      throw .unsupported(file: file, message: "big-endian dtype '\(descr)'; use a little-endian array")
    }
    guard "<|=>".contains(order), let dtype = descriptors.first(where: { $0.0 == code })?.1 else {
      throw .unsupported(file: file, message: "dtype '\(descr)' (Tessera reads f4, f2, i8, i4, i1, u1, b1)")
    }
    var count = 1
    for dim in dims {
      let (product, overflow) = count.multipliedReportingOverflow(by: dim)
      guard dim >= 0, !overflow, product <= 1 << 40 else {
        throw .malformed(file: file, message: "shape \(dims) is negative or too large")
      }
      count = product
    }
    return TensorType(dtype, Shape(dims))
  }
}

/// A value in a `.npy` header dictionary.
private enum HeaderValue {
  case string(String)
  case bool(Bool)
  case tuple([Int])
}

/// Parses the Python dict literal of a `.npy` header: `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
private struct HeaderParser {
  let scalars: [Character]
  let file: String
  var position = 0

  init(text: String, file: String) {
    scalars = Array(text)
    self.file = file
  }

  mutating func dictionary() throws(NPYError) -> [String: HeaderValue] {
    try expect("{")
    var fields: [String: HeaderValue] = [:]
    while true {
      skipSpace()
      if peek() == "}" { break }
      let key = try string()
      try expect(":")
      fields[key] = try value()
      skipSpace()
      if peek() == "," { position += 1 } else { break }
    }
    try expect("}")
    return fields
  }

  private mutating func value() throws(NPYError) -> HeaderValue {
    skipSpace()
    switch peek() {
    case "'", "\"": return .string(try string())
    case "(": return .tuple(try tuple())
    case "T", "F":
      let word = take { $0.isLetter }
      guard word == "True" || word == "False" else { throw fail("True or False, found '\(word)'") }
      return .bool(word == "True")
    default: throw fail("a string, tuple or True/False at offset \(position)")
    }
  }

  private mutating func tuple() throws(NPYError) -> [Int] {
    try expect("(")
    var values: [Int] = []
    while true {
      skipSpace()
      if peek() == ")" { break }
      let digits = take { $0.isNumber || $0 == "-" }
      skipSpace()
      if peek() == "L" { position += 1 }  // Python 2 longs
      guard let number = Int(digits) else { throw fail("an integer in the shape tuple, found '\(digits)'") }
      values.append(number)
      skipSpace()
      if peek() == "," { position += 1 } else { break }
    }
    try expect(")")
    return values
  }

  private mutating func string() throws(NPYError) -> String {
    skipSpace()
    guard let quote = peek(), quote == "'" || quote == "\"" else { throw fail("a quoted string at offset \(position)") }
    position += 1
    let text = take { $0 != quote }
    guard peek() == quote else { throw fail("a closing quote") }
    position += 1
    return text
  }

  private mutating func expect(_ character: Character) throws(NPYError) {
    skipSpace()
    guard peek() == character else { throw fail("'\(character)' at offset \(position) of the header") }
    position += 1
  }

  private func peek() -> Character? { position < scalars.count ? scalars[position] : nil }

  private mutating func skipSpace() { while let c = peek(), c.isWhitespace { position += 1 } }

  private mutating func take(while predicate: (Character) -> Bool) -> String {
    var text = ""
    while let c = peek(), predicate(c) {
      text.append(c)
      position += 1
    }
    return text
  }

  private func fail(_ expected: String) -> NPYError { .malformed(file: file, message: "header: expected \(expected)") }
}
