import Foundation
import TesseraIR

extension ONNXTensor {
  /// The most dimensions a tensor may have.
  public static let maxRank = 32
  /// The most elements a tensor may have (2^40), far beyond any model, well inside `Int`.
  public static let maxElements: Int64 = 1 << 40

  /// The Tessera shape of `dims`, after checking each is non-negative and their product sane.
  public static func shape(_ dims: [Int64], what: String) throws(ONNXError) -> Shape {
    guard dims.count <= maxRank else {
      throw .invalidValue(what: what, message: "\(dims.count) dimensions (at most \(maxRank))")
    }
    var count: Int64 = 1
    for dim in dims {
      guard dim >= 0 else { throw .invalidValue(what: what, message: "negative dimension in \(dims)") }
      let (product, overflow) = count.multipliedReportingOverflow(by: dim)
      guard !overflow, product <= maxElements else {
        throw .invalidValue(what: what, message: "dimensions \(dims) hold more than \(maxElements) elements")
      }
      count = product
    }
    return Shape(dims.map { Int($0) })
  }

  /// The tensor's value as a Tessera ``Tensor``. Data stored outside the model is read from the
  /// file its `location` names, relative to `directory` (the model's folder).
  public func tensor(directory: String? = nil) throws(ONNXError) -> Tensor {
    let what = "tensor '\(name)'"
    guard let dtype = ONNXDataType.dtype(dataType) else { throw .unsupportedDataType(what: what, code: dataType) }
    let shape = try Self.shape(dims, what: what)
    let type = TensorType(dtype, shape)
    let byteCount = shape.count * dtype.byteWidth!
    if isExternal {
      return Tensor(type: type, bytes: try readExternal(byteCount: byteCount, directory: directory))!
    }
    if let rawData {
      guard rawData.count == byteCount else {
        throw .invalidValue(what: what, message: "raw_data has \(rawData.count) bytes; \(type) needs \(byteCount)")
      }
      return Tensor(type: type, bytes: Array(rawData))!
    }
    return try typedFieldTensor(type, what: what)
  }

  /// The elements from the typed repeated field ONNX uses for this element type.
  private func typedFieldTensor(_ type: TensorType, what: String) throws(ONNXError) -> Tensor {
    let count = type.shape.count
    func check(_ found: Int, _ field: String) throws(ONNXError) {
      guard found == count else {
        throw .invalidValue(what: what, message: "\(field) has \(found) elements; \(type) needs \(count)")
      }
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count * type.dtype.byteWidth!)
    func append(_ value: UInt64, width: Int) {
      for index in 0..<width { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }
    switch type.dtype {
    case .f32:
      try check(floatData.count, "float_data")
      for bits in floatData { append(bits, width: 4) }
    case .i64:
      try check(int64Data.count, "int64_data")
      for value in int64Data { append(UInt64(bitPattern: value), width: 8) }
    default:  // i32, i8, u8, bool, f16, bf16 live in int32_data
      try check(int32Data.count, "int32_data")
      let width = type.dtype.byteWidth!
      for value in int32Data {
        append(UInt64(bitPattern: type.dtype == .bool ? (value != 0 ? 1 : 0) : value), width: width)
      }
    }
    return Tensor(type: type, bytes: bytes)!
  }

  /// Reads `byteCount` bytes of external data: `location` must be a relative path inside the
  /// model's folder; `offset` and `length`, when given, must fit the file.
  private func readExternal(byteCount: Int, directory: String?) throws(ONNXError) -> [UInt8] {
    guard let location = externalData["location"], !location.isEmpty else {
      throw .externalData(tensor: name, message: "no 'location' key")
    }
    let components = location.split(separator: "/")
    guard !location.hasPrefix("/"), !components.contains(".."), !location.contains("\\") else {
      throw .externalData(
        tensor: name, message: "location '\(location)' must be a relative path inside the model's folder")
    }
    guard let directory else {
      throw .externalData(tensor: name, message: "the model was not read from a file, so '\(location)' has no folder")
    }
    let offset = try externalNumber("offset") ?? 0
    let length = try externalNumber("length") ?? Int64(byteCount)
    guard length == Int64(byteCount) else {
      throw .externalData(tensor: name, message: "length \(length) differs from the \(byteCount) bytes its type needs")
    }
    let path = directory + "/" + location
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw .externalData(tensor: name, message: "cannot open '\(path)'")
    }
    defer { try? handle.close() }
    let size = (try? handle.seekToEnd()) ?? 0
    guard UInt64(offset) <= size, UInt64(length) <= size - UInt64(offset) else {
      throw .externalData(
        tensor: name, message: "\(length) bytes at offset \(offset) end past the end of '\(path)' (\(size) bytes)")
    }
    do {
      try handle.seek(toOffset: UInt64(offset))
      let data = try handle.read(upToCount: byteCount) ?? Data()
      guard data.count == byteCount else {
        throw ONNXError.externalData(tensor: name, message: "read \(data.count) of \(byteCount) bytes from '\(path)'")
      }
      return [UInt8](data)
    } catch let error as ONNXError {
      throw error
    } catch {
      throw .externalData(tensor: name, message: "reading '\(path)': \(error.localizedDescription)")
    }
  }

  private func externalNumber(_ key: String) throws(ONNXError) -> Int64? {
    guard let text = externalData[key] else { return nil }
    guard let value = Int64(text), value >= 0 else {
      throw .externalData(tensor: name, message: "\(key) '\(text)' is not a non-negative integer")
    }
    return value
  }
}

extension ONNXModel {
  /// Reads and decodes an `.onnx` file.
  public init(path: String) throws(ONNXError) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .cannotRead(
        path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
    }
    try self.init(bytes: [UInt8](data))
  }
}
