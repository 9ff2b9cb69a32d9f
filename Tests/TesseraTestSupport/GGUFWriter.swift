import Foundation
import Tessera

/// Writes GGUF files for tests, straight from the format description (independently of the
/// reader): header, metadata of every type, tensor infos, padding, tensor data.
public struct GGUFWriter {
  /// One tensor to write: GGUF dims (innermost first), ggml type code, raw bytes.
  public struct TensorEntry {
    /// The tensor's name.
    public var name: String
    /// Dimensions innermost first (`ne`).
    public var dims: [Int]
    /// The ggml type code (0 F32, 1 F16, 2 Q4_0, 3 Q4_1, 8 Q8_0, 14 Q6_K…).
    public var typeCode: UInt32
    /// The data.
    public var bytes: [UInt8]

    /// Creates an entry.
    public init(name: String, dims: [Int], typeCode: UInt32, bytes: [UInt8]) {
      self.name = name
      self.dims = dims
      self.typeCode = typeCode
      self.bytes = bytes
    }
  }

  /// The format version written.
  public var version: UInt32 = 3
  /// Metadata in order.
  public var metadata: [(key: String, value: GGUFValue)] = []
  /// Tensors in order.
  public var tensors: [TensorEntry] = []
  /// Alignment of tensor data (write `general.alignment` too when it is not 32).
  public var alignment = 32

  /// Creates an empty file description.
  public init() {}

  /// The file's bytes.
  public func bytes() -> [UInt8] {
    var out = ByteWriter.ggufHeader(version: version, tensors: UInt64(tensors.count), keys: UInt64(metadata.count))
    for (key, value) in metadata {
      out.string(key)
      out.u32(Self.code(of: value))
      Self.write(value, to: &out)
    }
    var offset = 0
    var offsets: [Int] = []
    for tensor in tensors {
      offsets.append(offset)
      offset += (tensor.bytes.count + alignment - 1) / alignment * alignment
    }
    for (tensor, start) in zip(tensors, offsets) {
      out.string(tensor.name)
      out.u32(UInt32(tensor.dims.count))
      for dim in tensor.dims { out.u64(UInt64(dim)) }
      out.u32(tensor.typeCode)
      out.u64(UInt64(start))
    }
    out.pad(to: alignment)
    for tensor in tensors {
      out.bytes += tensor.bytes
      out.pad(to: alignment)
    }
    return out.bytes
  }

  /// Writes the file to `path`.
  public func write(to path: String) throws {
    try Data(bytes()).write(to: URL(fileURLWithPath: path))
  }

  private static func code(of value: GGUFValue) -> UInt32 {
    switch value {
    case .uint8: 0
    case .int8: 1
    case .uint16: 2
    case .int16: 3
    case .uint32: 4
    case .int32: 5
    case .float32: 6
    case .bool: 7
    case .string: 8
    case .array: 9
    case .uint64: 10
    case .int64: 11
    case .float64: 12
    }
  }

  private static func write(_ value: GGUFValue, to out: inout ByteWriter) {
    switch value {
    case .uint8(let v): out.bytes.append(v)
    case .int8(let v): out.bytes.append(UInt8(bitPattern: v))
    case .uint16(let v): out.integer(UInt64(v), width: 2)
    case .int16(let v): out.integer(UInt64(UInt16(bitPattern: v)), width: 2)
    case .uint32(let v): out.u32(v)
    case .int32(let v): out.u32(UInt32(bitPattern: v))
    case .uint64(let v): out.u64(v)
    case .int64(let v): out.u64(UInt64(bitPattern: v))
    case .float32(let v): out.u32(v.bitPattern)
    case .float64(let v): out.u64(v.bitPattern)
    case .bool(let v): out.bytes.append(v ? 1 : 0)
    case .string(let v): out.string(v)
    case .array(let array):
      out.u32(array.elementType.rawValue)
      out.u64(UInt64(array.count))
      for element in array { write(element, to: &out) }
    }
  }
}

/// Little-endian bytes, for writing well-formed and deliberately malformed files.
public struct ByteWriter {
  /// What has been written.
  public var bytes: [UInt8] = []

  /// Starts empty.
  public init() {}

  /// A GGUF header: the magic, `version` and the tensor and metadata key counts, as given (so a
  /// test can write counts the rest of the file does not hold).
  public static func ggufHeader(version: UInt32 = 3, tensors: UInt64, keys: UInt64) -> ByteWriter {
    var out = ByteWriter()
    out.bytes = Array("GGUF".utf8)
    out.u32(version)
    out.u64(tensors)
    out.u64(keys)
    return out
  }

  /// An unsigned integer of `width` bytes.
  public mutating func integer(_ value: UInt64, width: Int) {
    for i in 0..<width { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
  }
  /// A u32.
  public mutating func u32(_ value: UInt32) { integer(UInt64(value), width: 4) }
  /// A u64.
  public mutating func u64(_ value: UInt64) { integer(value, width: 8) }
  /// A GGUF string: u64 length and UTF-8 bytes.
  public mutating func string(_ text: String) {
    u64(UInt64(text.utf8.count))
    bytes += Array(text.utf8)
  }
  /// Zero bytes up to the next multiple of `alignment`.
  public mutating func pad(to alignment: Int) {
    while bytes.count % alignment != 0 { bytes.append(0) }
  }
}
