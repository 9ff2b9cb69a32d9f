/// Every way a GGUF file can be rejected. Each case names what was read, where, and what was
/// expected, so a person can tell a truncated download from a hostile or unsupported file.
public enum GGUFError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The file could not be opened or mapped.
  case cannotOpen(path: String, reason: String)
  /// The first four bytes are not `GGUF`.
  case notGGUF(magic: [UInt8])
  /// Only versions 2 and 3 (little-endian) are read.
  case unsupportedVersion(UInt32)
  /// Reading `what` at byte `offset` needs `needed` bytes but only `available` remain.
  case truncated(what: String, offset: Int, needed: UInt64, available: Int)
  /// A count (tensors, keys, array elements, string bytes), read at byte `offset`, cannot fit in
  /// the rest of the file (or, for the bytes of an array's strings together, in ``PackedStrings``).
  case countTooLarge(what: String, offset: Int, count: UInt64, limit: Int)
  /// A metadata value type code that GGUF does not define.
  case unknownValueType(key: String, code: UInt32)
  /// Arrays nested deeper than the reader allows.
  case nestingTooDeep(key: String, limit: Int)
  /// The same metadata key or tensor name appears twice.
  case duplicate(what: String, name: String)
  /// `general.alignment` is 0, not a power of two, or larger than the reader allows.
  case badAlignment(value: UInt64, reason: String)
  /// A tensor declares more dimensions than GGUF allows.
  case tooManyDimensions(tensor: String, count: UInt32, limit: Int)
  /// A tensor's dimensions are zero, overflow when multiplied, or do not fit its type's blocks.
  case invalidDimensions(tensor: String, dims: [UInt64], reason: String)
  /// A tensor type this reader cannot hand to the IR (F32, F16, BF16 and the ``BlockFormat``
  /// types are supported).
  case unsupportedTensorType(tensor: String, type: String)
  /// A tensor's offset is not a multiple of the file's alignment.
  case misalignedOffset(tensor: String, offset: UInt64, alignment: Int)
  /// A tensor's bytes end past the end of the file.
  case tensorOutOfBounds(tensor: String, type: String, offset: UInt64, bytes: UInt64, dataBytes: Int)
  /// A metadata key the consumer needs is absent.
  case missingKey(String)
  /// A metadata value has another type than the consumer reads.
  case wrongType(key: String, expected: String, found: String)
  /// A tensor the consumer needs is absent.
  case missingTensor(String)
  /// A tensor has another shape or type than the model needs.
  case unexpectedTensor(name: String, expected: String, found: String)

  /// A message a person can act on.
  public var description: String {
    switch self {
    case .cannotOpen(let path, let reason): "cannot open GGUF file '\(path)': \(reason)"
    case .notGGUF(let magic): "not a GGUF file: the magic bytes are \(magic) instead of \"GGUF\""
    case .unsupportedVersion(let version): "GGUF version \(version) is not supported (versions 2 and 3 are)"
    case .truncated(let what, let offset, let needed, let available):
      "GGUF file is truncated: \(what) at byte \(offset) needs \(needed) bytes, \(available) remain"
    case .countTooLarge(let what, let offset, let count, let limit):
      "GGUF \(what) count \(count) at byte \(offset) cannot fit in the file (at most \(limit))"
    case .unknownValueType(let key, let code): "GGUF metadata '\(key)' has unknown value type \(code)"
    case .nestingTooDeep(let key, let limit): "GGUF metadata '\(key)' nests arrays deeper than \(limit)"
    case .duplicate(let what, let name): "GGUF file has two \(what)s named '\(name)'"
    case .badAlignment(let value, let reason): "GGUF general.alignment \(value) is invalid: \(reason)"
    case .tooManyDimensions(let tensor, let count, let limit):
      "GGUF tensor '\(tensor)' has \(count) dimensions (at most \(limit))"
    case .invalidDimensions(let tensor, let dims, let reason):
      "GGUF tensor '\(tensor)' has invalid dimensions \(dims): \(reason)"
    case .unsupportedTensorType(let tensor, let type):
      "unsupported tensor type \(type) for tensor '\(tensor)' (supported: \(GGMLType.supportedNames))"
    case .misalignedOffset(let tensor, let offset, let alignment):
      "GGUF tensor '\(tensor)' offset \(offset) is not a multiple of the alignment \(alignment)"
    case .tensorOutOfBounds(let tensor, let type, let offset, let bytes, let dataBytes):
      "GGUF tensor '\(tensor)' (\(type), \(bytes) bytes at data offset \(offset)) ends past the file's \(dataBytes) data bytes"
    case .missingKey(let key): "GGUF metadata key '\(key)' is missing"
    case .wrongType(let key, let expected, let found): "GGUF metadata '\(key)' should be \(expected), found \(found)"
    case .missingTensor(let name): "GGUF tensor '\(name)' is missing"
    case .unexpectedTensor(let name, let expected, let found):
      "GGUF tensor '\(name)' should be \(expected), found \(found)"
    }
  }
}
