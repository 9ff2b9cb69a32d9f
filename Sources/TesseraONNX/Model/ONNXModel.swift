/// A decoded ONNX `ModelProto`: the fields the importer uses, in ONNX's own terms.
public struct ONNXModel: Sendable {
  /// The ONNX IR version the file declares.
  public var irVersion: Int64 = 0
  /// `(domain, version)` of each imported operator set; `""` is the default `ai.onnx` domain.
  public var opsetImports: [ONNXOpsetImport] = []
  /// The program that wrote the file.
  public var producerName = ""
  /// The main graph.
  public var graph = ONNXGraph()

  /// The version of `domain` the model imports (`""` and `ai.onnx` are the same domain).
  public func opset(_ domain: String) -> Int64? {
    let wanted = domain == "ai.onnx" ? "" : domain
    return opsetImports.last { ($0.domain == "ai.onnx" ? "" : $0.domain) == wanted }?.version
  }
}

/// One `OperatorSetIdProto`.
public struct ONNXOpsetImport: Hashable, Sendable {
  /// The domain (`""` for `ai.onnx`).
  public var domain: String
  /// The operator set version.
  public var version: Int64
}

/// A decoded `GraphProto`.
public struct ONNXGraph: Sendable {
  /// The graph's name.
  public var name = ""
  /// The nodes, in the file's (topological) order.
  public var nodes: [ONNXNode] = []
  /// Constant tensors (weights), by name.
  public var initializers: [ONNXTensor] = []
  /// The graph inputs (which may also name initializers, in older files).
  public var inputs: [ONNXValueInfo] = []
  /// The graph outputs.
  public var outputs: [ONNXValueInfo] = []
  /// Types of intermediate values, where the file records them.
  public var valueInfo: [ONNXValueInfo] = []
}

/// A decoded `NodeProto`.
public struct ONNXNode: Sendable {
  /// The node's name (may be empty).
  public var name = ""
  /// The op, such as `MatMul`.
  public var opType = ""
  /// The op's domain (`""` for `ai.onnx`).
  public var domain = ""
  /// Input value names; `""` marks an omitted optional input.
  public var inputs: [String] = []
  /// Output value names; `""` marks an omitted optional output.
  public var outputs: [String] = []
  /// The attributes, in file order.
  public var attributes: [ONNXAttribute] = []

  /// The attribute called `name`, if present.
  public func attribute(_ name: String) -> ONNXAttribute? { attributes.first { $0.name == name } }

  /// The name used in messages: the node's name, or its first output when it has none.
  public var displayName: String { name.isEmpty ? (outputs.first.map { "→\($0)" } ?? opType) : name }
}

/// A decoded `AttributeProto`. Only the field that `type` names is meaningful.
public struct ONNXAttribute: Sendable {
  /// `AttributeProto.AttributeType`.
  public enum Kind: Int64, Sendable {
    case undefined = 0, float = 1, int = 2, string = 3, tensor = 4, graph = 5, floats = 6, ints = 7, strings = 8
    case tensors = 9, graphs = 10, sparseTensor = 11, sparseTensors = 12, typeProto = 13, typeProtos = 14
  }

  /// The attribute's name.
  public var name = ""
  /// Which value field it uses; `nil` for a type code ONNX does not define.
  public var kind: Kind? = .undefined
  /// `f`.
  public var float: Float = 0
  /// `i`.
  public var int: Int64 = 0
  /// `s`, as bytes.
  public var string: [UInt8] = []
  /// `t`.
  public var tensor: ONNXTensor?
  /// `g`: a subgraph (decoded and checked; the importer runs none).
  public var graph: ONNXGraph?
  /// `floats`.
  public var floats: [Float] = []
  /// `ints`.
  public var ints: [Int64] = []
  /// `strings`.
  public var strings: [[UInt8]] = []
}

/// A decoded `ValueInfoProto` of a tensor: its name, element type and dims.
public struct ONNXValueInfo: Sendable {
  /// One dimension: a number, a named symbol, or unknown.
  public enum Dimension: Hashable, Sendable {
    case value(Int64)
    case symbol(String)
    case unknown
  }

  /// The value's name.
  public var name = ""
  /// The element type code (`TensorProto.DataType`); 0 when not a tensor or not given.
  public var elementType: Int32 = 0
  /// The dims, or `nil` when the rank is unknown.
  public var dims: [Dimension]?
}

/// A decoded `TensorProto`: dims, element type and its data in whichever field the file used.
public struct ONNXTensor: Sendable {
  /// The tensor's name.
  public var name = ""
  /// The dims.
  public var dims: [Int64] = []
  /// The element type code.
  public var dataType: Int32 = 0
  /// `raw_data`: the elements as little-endian bytes.
  public var rawData: ArraySlice<UInt8>?
  /// `float_data` as bit patterns.
  public var floatData: [UInt64] = []
  /// `int32_data` (also int8/uint8/int16/bool/float16/bfloat16 elements).
  public var int32Data: [Int64] = []
  /// `int64_data`.
  public var int64Data: [Int64] = []
  /// `double_data` as bit patterns.
  public var doubleData: [UInt64] = []
  /// `uint64_data` (also uint32 elements).
  public var uint64Data: [Int64] = []
  /// Whether `string_data` held anything (string tensors are not supported).
  public var hasStringData = false
  /// `data_location == EXTERNAL`.
  public var isExternal = false
  /// `external_data` key/value pairs (`location`, `offset`, `length`…).
  public var externalData: [String: String] = [:]
}
