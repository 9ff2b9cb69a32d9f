import Tessera

/// Builds `.onnx` model bytes for tests with ``ProtobufWriter``, from the field numbers of the
/// public onnx.proto specification, without using Tessera's reader.
public struct ONNXModelWriter: Sendable {
  /// An attribute value.
  public enum AttributeValue: Sendable {
    /// `i`, `f`, `s`, `ints`, `floats`, `t`.
    case int(Int64), float(Float), string(String), ints([Int64]), floats([Float]), tensor(Tensor)
  }

  /// One dim of a declared input or output shape.
  public enum Dim: Sendable, ExpressibleByIntegerLiteral {
    /// A number or a named symbol.
    case value(Int64), symbol(String)
    /// A fixed dim from an integer literal.
    public init(integerLiteral value: Int64) { self = .value(value) }
  }

  /// One node.
  public struct Node: Sendable {
    /// The op (`Add`).
    public var opType: String
    /// Input value names (`""` for an omitted optional input).
    public var inputs: [String]
    /// Output value names.
    public var outputs: [String]
    /// The node's name (may be empty).
    public var name: String
    /// Attributes, in order.
    public var attributes: [(String, AttributeValue)]
  }

  /// The `ai.onnx` opset the model imports.
  public var opset: Int64
  /// The nodes, in order.
  public var nodes: [Node] = []
  /// Graph inputs: name, dtype, dims.
  public var inputs: [(name: String, dtype: DType, dims: [Dim])] = []
  /// Graph outputs: name, dtype and dims (`nil`: not declared).
  public var outputs: [(name: String, dtype: DType?, dims: [Dim]?)] = []
  /// Initializers: name, value, and whether to store them in the typed field instead of raw_data.
  public var initializers: [(name: String, tensor: Tensor, typed: Bool)] = []

  /// An empty model importing `opset`.
  public init(opset: Int64 = 17) { self.opset = opset }

  /// Adds a node.
  public mutating func node(
    _ opType: String, _ inputs: [String], _ outputs: [String], name: String = "",
    _ attributes: [(String, AttributeValue)] = []
  ) {
    nodes.append(Node(opType: opType, inputs: inputs, outputs: outputs, name: name, attributes: attributes))
  }

  /// Adds a graph input.
  public mutating func input(_ name: String, _ dtype: DType, _ dims: [Dim]) { inputs.append((name, dtype, dims)) }

  /// Adds a graph output.
  public mutating func output(_ name: String, _ dtype: DType? = nil, _ dims: [Dim]? = nil) {
    outputs.append((name, dtype, dims))
  }

  /// Adds an initializer.
  public mutating func initializer(_ name: String, _ tensor: Tensor, typed: Bool = false) {
    initializers.append((name, tensor, typed))
  }

  /// The ONNX element type code of a dtype (from the specification's `TensorProto.DataType`).
  public static func code(_ dtype: DType) -> Int64 {
    switch dtype {
    case .f32: 1
    case .u8: 2
    case .i8: 3
    case .i32: 6
    case .i64: 7
    case .bool: 9
    case .f16: 10
    case .bf16: 16
    default: 0
    }
  }

  /// The encoded `ModelProto`.
  public func bytes() -> [UInt8] {
    var model = ProtobufWriter()
    model.int(1, 8)  // ir_version
    model.string(2, "tessera-tests")  // producer_name
    model.message(7) { graph in
      for node in nodes { graph.message(1) { Self.write(node, into: &$0) } }
      graph.string(2, "test_graph")
      for (name, tensor, typed) in initializers { graph.data(5, Self.tensorProto(name, tensor, typed: typed)) }
      for input in inputs { graph.message(11) { Self.valueInfo(input.name, input.dtype, input.dims, into: &$0) } }
      for output in outputs { graph.message(12) { Self.valueInfo(output.name, output.dtype, output.dims, into: &$0) } }
    }
    model.message(8) { opset in
      opset.string(1, "")
      opset.int(2, self.opset)
    }
    return model.bytes
  }

  /// A `TensorProto`: dims, type and the elements in `raw_data`, or in the typed field ONNX uses
  /// for the dtype (`float_data`, `int64_data`, `int32_data`) when `typed`.
  public static func tensorProto(_ name: String, _ tensor: Tensor, typed: Bool = false) -> [UInt8] {
    var proto = ProtobufWriter()
    proto.packedInts(1, tensor.shape.dims.map(Int64.init))
    proto.int(2, code(tensor.dtype))
    proto.string(8, name)
    if !typed {
      proto.data(9, tensor.bytes)
    } else if tensor.dtype == .f32 {
      proto.packedFloats(4, tensor.floats)
    } else if tensor.dtype == .i64 {
      proto.packedInts(7, tensor.int64s)
    } else if tensor.dtype == .f16 || tensor.dtype == .bf16 {
      let bytes = tensor.bytes
      proto.packedInts(5, stride(from: 0, to: bytes.count, by: 2).map { Int64(bytes[$0]) | Int64(bytes[$0 + 1]) << 8 })
    } else {
      proto.packedInts(5, tensor.int64s)
    }
    return proto.bytes
  }

  private static func write(_ node: Node, into proto: inout ProtobufWriter) {
    for input in node.inputs { proto.string(1, input) }
    for output in node.outputs { proto.string(2, output) }
    if !node.name.isEmpty { proto.string(3, node.name) }
    proto.string(4, node.opType)
    for (name, value) in node.attributes {
      proto.message(5) { attribute in
        attribute.string(1, name)
        switch value {
        case .float(let float):
          attribute.float(2, float)
          attribute.int(20, 1)
        case .int(let int):
          attribute.int(3, int)
          attribute.int(20, 2)
        case .string(let text):
          attribute.string(4, text)
          attribute.int(20, 3)
        case .tensor(let tensor):
          attribute.data(5, tensorProto("", tensor))
          attribute.int(20, 4)
        case .floats(let floats):
          attribute.packedFloats(7, floats)
          attribute.int(20, 6)
        case .ints(let ints):
          attribute.packedInts(8, ints)
          attribute.int(20, 7)
        }
      }
    }
  }

  private static func valueInfo(_ name: String, _ dtype: DType?, _ dims: [Dim]?, into proto: inout ProtobufWriter) {
    proto.string(1, name)
    proto.message(2) { type in
      type.message(1) { tensorType in
        if let dtype { tensorType.int(1, code(dtype)) }
        guard let dims else { return }
        tensorType.message(2) { shape in
          for dim in dims {
            shape.message(1) { entry in
              switch dim {
              case .value(let size): entry.int(1, size)
              case .symbol(let symbol): entry.string(2, symbol)
              }
            }
          }
        }
      }
    }
  }
}
