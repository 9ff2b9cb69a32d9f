import TesseraIR

/// A GGUF model file (versions 2 and 3), memory-mapped and validated.
///
/// Every count, length, dimension, offset and size is checked against the file before anything
/// is allocated or read (DESIGN.md, "Model files are hostile input"). Tensor bytes are not copied:
/// ``bytes(of:)`` and the IR ``Tensor`` that ``tensor(named:)`` returns are views into the
/// mapping, which stays mapped while any of them lives.
public final class GGUFFile: Sendable {
  /// GGUF's default alignment of tensor data when `general.alignment` is absent.
  public static let defaultAlignment = 32
  /// The largest `general.alignment` accepted.
  public static let maximumAlignment = 1 << 20
  /// The most dimensions a tensor may have (ggml's limit).
  public static let maximumDimensions = 4

  /// Where the file was read from.
  public let path: String
  /// The format version (2 or 3).
  public let version: UInt32
  /// Every metadata key and value.
  public let metadata: [String: GGUFValue]
  /// Metadata keys in file order.
  public let metadataKeys: [String]
  /// Every tensor, in file order.
  public let tensors: [GGUFTensorInfo]
  /// The alignment of tensor data.
  public let alignment: Int
  private let tensorIndex: [String: Int]
  private let mapping: MappedFile
  private let dataOffset: Int

  /// Maps and validates the file at `path`.
  public init(path: String) throws(GGUFError) {
    self.path = path
    mapping = try MappedFile(path: path)
    var cursor = ByteCursor(mapping.bytes)
    try cursor.require(4, "magic")
    let magic = [UInt8](mapping.bytes[0..<4])
    guard magic == Array("GGUF".utf8) else { throw .notGGUF(magic: magic) }
    _ = try cursor.read(UInt32.self, "magic")
    version = try cursor.read(UInt32.self, "version")
    guard version == 2 || version == 3 else { throw .unsupportedVersion(version) }
    let tensorCount = try cursor.count("tensor", minimumBytes: 24)
    let keyCount = try cursor.count("metadata key", minimumBytes: 13)

    var metadata: [String: GGUFValue] = [:]
    var keys: [String] = []
    for _ in 0..<keyCount {
      let key = try cursor.string("metadata key")
      let code = try cursor.read(UInt32.self, "type of '\(key)'")
      let value = try GGUFMetadataParser.value(&cursor, code: code, key: key)
      guard metadata.updateValue(value, forKey: key) == nil else { throw .duplicate(what: "metadata key", name: key) }
      keys.append(key)
    }
    self.metadata = metadata
    metadataKeys = keys
    alignment = try Self.alignment(metadata["general.alignment"])

    var infos: [GGUFTensorInfo] = []
    var index: [String: Int] = [:]
    for _ in 0..<tensorCount {
      let info = try Self.tensorInfo(&cursor, alignment: alignment)
      guard index.updateValue(infos.count, forKey: info.name) == nil else {
        throw .duplicate(what: "tensor", name: info.name)
      }
      infos.append(info)
    }
    if tensorCount > 0 { try cursor.align(to: alignment, "padding before tensor data") }
    dataOffset = cursor.offset
    let dataBytes = mapping.bytes.count - dataOffset
    for info in infos where info.offset > dataBytes || info.byteCount > dataBytes - info.offset {
      throw .tensorOutOfBounds(
        tensor: info.name, type: GGMLType.name(of: info.dtype), offset: UInt64(info.offset),
        bytes: UInt64(info.byteCount), dataBytes: dataBytes)
    }
    tensors = infos
    tensorIndex = index
    // The header, metadata and tensor table now live as Swift values: their pages go back (a
    // vocabulary's strings are megabytes of them).
    mapping.releasePages(in: UnsafeRawBufferPointer(rebasing: mapping.bytes[0..<dataOffset]))
  }

  /// The entry for tensor `name`.
  public func info(named name: String) throws(GGUFError) -> GGUFTensorInfo {
    guard let position = tensorIndex[name] else { throw .missingTensor(name) }
    return tensors[position]
  }

  /// True when the file holds a tensor called `name`.
  public func hasTensor(_ name: String) -> Bool { tensorIndex[name] != nil }

  /// The tensor's bytes inside the mapping, without a copy; valid while this file object lives.
  public func bytes(of info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
    let start = dataOffset + info.offset
    return UnsafeRawBufferPointer(rebasing: mapping.bytes[start..<(start + info.byteCount)])
  }

  /// Tensor `name` as an IR tensor (GGUF dims reversed into an IR shape) viewing the mapping:
  /// no copy, and the tensor keeps the file mapped.
  public func tensor(named name: String) throws(GGUFError) -> Tensor {
    let info = try info(named: name)
    return Tensor(type: info.type, viewing: bytes(of: info), owner: mapping)!
  }

  private static func alignment(_ value: GGUFValue?) throws(GGUFError) -> Int {
    guard let value else { return defaultAlignment }
    guard case .uint32(let raw) = value else {
      throw .wrongType(key: "general.alignment", expected: "u32", found: value.typeDescription)
    }
    guard raw != 0 else { throw .badAlignment(value: 0, reason: "it must be at least 1") }
    guard raw & (raw - 1) == 0 else { throw .badAlignment(value: UInt64(raw), reason: "not a power of two") }
    guard raw <= maximumAlignment else {
      throw .badAlignment(value: UInt64(raw), reason: "larger than \(maximumAlignment)")
    }
    return Int(raw)
  }

  private static func tensorInfo(_ cursor: inout ByteCursor, alignment: Int) throws(GGUFError) -> GGUFTensorInfo {
    let name = try cursor.string("tensor name")
    let rank = try cursor.read(UInt32.self, "dimension count of '\(name)'")
    guard rank <= maximumDimensions else {
      throw .tooManyDimensions(tensor: name, count: rank, limit: maximumDimensions)
    }
    var raw: [UInt64] = []
    for axis in 0..<Int(rank) { raw.append(try cursor.read(UInt64.self, "dimension \(axis) of '\(name)'")) }
    let code = try cursor.read(UInt32.self, "type of '\(name)'")
    let offset = try cursor.read(UInt64.self, "offset of '\(name)'")
    guard let dtype = GGMLType.dtype(code: code) else {
      throw .unsupportedTensorType(tensor: name, type: GGMLType.name(code: code))
    }
    var count = 1
    for dim in raw {
      guard dim >= 1 else { throw .invalidDimensions(tensor: name, dims: raw, reason: "a dimension is 0") }
      guard let exact = Int(exactly: dim), case let product = count.multipliedReportingOverflow(by: exact),
        !product.overflow
      else { throw .invalidDimensions(tensor: name, dims: raw, reason: "the element count overflows") }
      count = product.partialValue
    }
    if let block = dtype.quantBlock, let rowLength = raw.first, rowLength % UInt64(block.elements) != 0 {
      throw .invalidDimensions(
        tensor: name, dims: raw, reason: "\(GGMLType.name(of: dtype)) rows must be a multiple of \(block.elements)")
    }
    guard let byteCount = dtype.storageBytes(count: count) else {
      throw .invalidDimensions(tensor: name, dims: raw, reason: "the byte size overflows")
    }
    guard offset % UInt64(alignment) == 0 else {
      throw .misalignedOffset(tensor: name, offset: offset, alignment: alignment)
    }
    guard let start = Int(exactly: offset) else {
      throw .tensorOutOfBounds(
        tensor: name, type: GGMLType.name(of: dtype), offset: offset, bytes: UInt64(byteCount),
        dataBytes: cursor.remaining)
    }
    return GGUFTensorInfo(name: name, dims: raw.map { Int($0) }, dtype: dtype, offset: start, byteCount: byteCount)
  }
}
