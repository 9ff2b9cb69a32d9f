/// Every way an ONNX file can be rejected or fail to import. Each case names what was being read
/// (a path such as `graph.node[3].attribute[0].t`) and where (a byte offset), or the node that
/// could not be imported with its op type and opset, so a person can tell a truncated download
/// from a hostile file or a model that uses an op Tessera does not import yet.
public enum ONNXError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The file could not be read.
  case cannotRead(path: String, reason: String)
  /// A field runs past the end of its message: `needed` bytes at `offset`, `available` left.
  case truncated(what: String, offset: Int, needed: UInt64, available: Int)
  /// A varint longer than 10 bytes or wider than 64 bits.
  case malformedVarint(what: String, offset: Int)
  /// A wire type protobuf does not define (or the deprecated groups, 3 and 4).
  case unknownWireType(what: String, offset: Int, wireType: Int)
  /// A field number of 0, which protobuf forbids.
  case invalidFieldNumber(what: String, offset: Int)
  /// A known field arrived with a wire type it cannot have.
  case wrongWireType(what: String, offset: Int, expected: String, found: Int)
  /// Messages nested deeper than the reader allows (subgraphs inside attributes).
  case nestingTooDeep(what: String, limit: Int)
  /// A value that is well-formed protobuf but impossible for ONNX (negative dims, a count that
  /// overflows, data that does not match the declared size).
  case invalidValue(what: String, message: String)
  /// An ONNX element type Tessera has no dtype for (double, string, uint16, complex…).
  case unsupportedDataType(what: String, code: Int32)
  /// Tensor data stored in a file beside the model could not be used.
  case externalData(tensor: String, message: String)
  /// The model imports an opset newer or older than the importer knows.
  case unsupportedOpset(domain: String, version: Int64, supported: ClosedRange<Int64>)
  /// A node whose op (in its domain and opset) the importer does not handle.
  case unsupportedOp(node: String, opType: String, domain: String, opset: Int64)
  /// A node the importer handles in general but not with these inputs or attributes.
  case invalidNode(node: String, opType: String, opset: Int64, message: String)
  /// A graph input or output that cannot become a Tessera argument or result.
  case invalidGraph(String)

  /// A one-line message a person can act on.
  public var description: String {
    switch self {
    case .cannotRead(let path, let reason): "cannot read ONNX file '\(path)': \(reason)"
    case .truncated(let what, let offset, let needed, let available):
      "ONNX: \(what) at byte \(offset) needs \(needed) bytes, only \(available) remain (truncated or corrupt file)"
    case .malformedVarint(let what, let offset): "ONNX: \(what) at byte \(offset) is not a valid varint"
    case .unknownWireType(let what, let offset, let wireType):
      "ONNX: \(what) at byte \(offset) has unknown protobuf wire type \(wireType)"
    case .invalidFieldNumber(let what, let offset): "ONNX: \(what) at byte \(offset) has field number 0"
    case .wrongWireType(let what, let offset, let expected, let found):
      "ONNX: \(what) at byte \(offset) should be \(expected), found wire type \(found)"
    case .nestingTooDeep(let what, let limit): "ONNX: \(what) nests messages deeper than \(limit)"
    case .invalidValue(let what, let message): "ONNX: \(what): \(message)"
    case .unsupportedDataType(let what, let code):
      "ONNX: \(what) has element type \(ONNXDataType.name(code)) (\(code)), which Tessera does not support (supported: \(ONNXDataType.supportedNames))"
    case .externalData(let tensor, let message): "ONNX: external data of tensor '\(tensor)': \(message)"
    case .unsupportedOpset(let domain, let version, let supported):
      "ONNX: the model imports opset \(version) of domain '\(domain.isEmpty ? "ai.onnx" : domain)'; the importer knows \(supported.lowerBound)–\(supported.upperBound)"
    case .unsupportedOp(let node, let opType, let domain, let opset):
      "ONNX node '\(node)': op \(domain.isEmpty ? "" : domain + ".")\(opType) (opset \(opset)) is not supported by the importer (see 'tessera import --list-ops')"
    case .invalidNode(let node, let opType, let opset, let message):
      "ONNX node '\(node)' (\(opType), opset \(opset)): \(message)"
    case .invalidGraph(let message): "ONNX graph: \(message)"
    }
  }
}
