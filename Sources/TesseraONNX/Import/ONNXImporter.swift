import TesseraCompiler
import TesseraIR

/// What an import needs besides the model.
public struct ONNXImportOptions: Sendable {
  /// Computes, at import, ops whose operands are all known (the reference evaluator does).
  public var evaluator: any ConstantEvaluator
  /// Dims for graph inputs, by input name; they fix symbolic (and override declared) dims.
  public var inputShapes: [String: [Int]]
  /// Values for graph inputs that are to be constants (shape operands a harness feeds as
  /// inputs), by input name; such inputs are not arguments of the imported graph.
  public var constantInputs: [String: Tensor]
  /// The model's folder, for tensors stored in files beside it.
  public var directory: String?
  /// The largest result, in elements, folded into a constant at import.
  public var maxFoldElements: Int

  /// Creates options.
  public init(
    evaluator: any ConstantEvaluator, inputShapes: [String: [Int]] = [:], constantInputs: [String: Tensor] = [:],
    directory: String? = nil, maxFoldElements: Int = 65_536
  ) {
    self.evaluator = evaluator
    self.inputShapes = inputShapes
    self.constantInputs = constantInputs
    self.directory = directory
    self.maxFoldElements = maxFoldElements
  }
}

/// Turns an ONNX model into a Tessera ``Graph``: initializers become constants, graph inputs
/// arguments, graph outputs results, and each node the Tessera ops that compute what ONNX
/// specifies. A node it cannot import is an error naming the node, its op type and opset; no
/// partial graph is returned.
public enum ONNXImporter {
  /// The `ai.onnx` opset versions the importer accepts.
  public static let supportedOpsets: ClosedRange<Int64> = 7...28

  /// The ONNX op types (default domain) the importer claims, sorted.
  public static var supportedOps: [String] { ONNXOpTable.handlers.keys.sorted() }

  /// Reads and imports the `.onnx` file at `path` (external data is read beside it).
  public static func importFile(_ path: String, options: ONNXImportOptions) throws(ONNXError) -> Graph {
    var options = options
    if options.directory == nil {
      let folder = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
      options.directory = folder.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : folder
    }
    return try importModel(try ONNXModel(path: path), options: options)
  }

  /// Imports a decoded model.
  public static func importModel(_ model: ONNXModel, options: ONNXImportOptions) throws(ONNXError) -> Graph {
    guard let opset = model.opset("") else { throw .invalidGraph("the model imports no ai.onnx opset") }
    guard supportedOpsets.contains(opset) else {
      throw .unsupportedOpset(domain: "", version: opset, supported: supportedOpsets)
    }
    let graph = model.graph
    let context = ImportContext(
      name: "main", evaluator: options.evaluator, maxFoldElements: options.maxFoldElements,
      directory: options.directory)
    for initializer in graph.initializers {
      context.values[initializer.name] = context.constant(try initializer.tensor(directory: options.directory))
    }
    for (name, tensor) in options.constantInputs.sorted(by: { $0.key < $1.key }) {
      guard graph.inputs.contains(where: { $0.name == name }) else {
        throw .invalidGraph("a constant is given for '\(name)', which is not a graph input")
      }
      context.values[name] = context.constant(tensor)
    }
    try addArguments(graph, options.inputShapes, context)
    for node in graph.nodes {
      let nodeOpset = node.domain.isEmpty || node.domain == "ai.onnx" ? opset : model.opset(node.domain) ?? 0
      guard node.domain.isEmpty || node.domain == "ai.onnx", let handler = ONNXOpTable.handlers[node.opType] else {
        throw .unsupportedOp(node: node.displayName, opType: node.opType, domain: node.domain, opset: nodeOpset)
      }
      context.begin(node, opset: nodeOpset)
      let outputs: [ValueID]
      do {
        outputs = try handler(context)
      } catch let error as ONNXError {
        throw error
      } catch {
        throw context.failure("\(error)")
      }
      for (name, value) in zip(node.outputs, outputs) where !name.isEmpty { context.values[name] = value }
    }
    var results: [ValueID] = []
    for output in graph.outputs {
      guard let value = context.values[output.name] else {
        throw .invalidGraph("output '\(output.name)' is computed by no node the importer made")
      }
      try checkDeclared(output, context.type(value))
      results.append(value)
    }
    let built: Graph
    do {
      built = try context.builder.finish(returning: results)
    } catch {
      throw .invalidGraph("the imported graph does not verify: \(error)")
    }
    return GraphTidying.tidy(built, names: namesInOrder(graph), values: context.values)
  }

  /// Graph inputs that are not initializers become arguments of the declared (or given) type.
  private static func addArguments(_ graph: ONNXGraph, _ shapes: [String: [Int]], _ context: ImportContext)
    throws(ONNXError)
  {
    let inputNames = Set(graph.inputs.map(\.name))
    for name in shapes.keys.sorted() where !inputNames.contains(name) || context.values[name] != nil {
      let known = graph.inputs.map(\.name).filter { context.values[$0] == nil }
      throw .invalidGraph(
        "--input-shape names '\(name)', which is not a graph input (inputs: \(known.joined(separator: ", ")))")
    }
    for input in graph.inputs where context.values[input.name] == nil {
      guard let dtype = ONNXDataType.dtype(input.elementType) else {
        throw .unsupportedDataType(what: "graph input '\(input.name)'", code: input.elementType)
      }
      let dims: [Int]
      if let given = shapes[input.name] {
        if let declared = input.dims, declared.count != given.count {
          throw .invalidGraph(
            "--input-shape \(input.name) gives \(given.count) dims; the model declares rank \(declared.count)")
        }
        dims = given
      } else {
        dims = try declaredDims(input)
      }
      let shape = try ONNXTensor.shape(dims.map(Int64.init), what: "graph input '\(input.name)'")
      context.values[input.name] = context.builder.argument(context.freshName(), TensorType(dtype, shape))
    }
  }

  private static func declaredDims(_ input: ONNXValueInfo) throws(ONNXError) -> [Int] {
    guard let declared = input.dims else {
      throw .invalidGraph(
        "input '\(input.name)' has no declared shape; give it with --input-shape \(input.name)=D0,D1,…")
    }
    var dims: [Int] = []
    for (axis, dim) in declared.enumerated() {
      guard case .value(let size) = dim else {
        let symbol = if case .symbol(let name) = dim { " '\(name)'" } else { "" }
        throw .invalidGraph(
          "input '\(input.name)' has a symbolic dim\(symbol) at axis \(axis); fix it with --input-shape \(input.name)=D0,D1,…"
        )
      }
      dims.append(Int(clamping: size))
    }
    return dims
  }

  /// An output whose declared element type or (fully known) dims differ from what the import
  /// computed means the import went wrong: say so rather than return a different graph.
  private static func checkDeclared(_ output: ONNXValueInfo, _ type: TensorType) throws(ONNXError) {
    if output.elementType != 0, ONNXDataType.dtype(output.elementType) != type.dtype {
      throw .invalidGraph(
        "output '\(output.name)' is declared \(ONNXDataType.name(output.elementType)); the import computes \(type)")
    }
    guard let dims = output.dims else { return }
    for (axis, dim) in dims.enumerated() {
      if case .value(let size) = dim, axis < type.shape.rank, size != type.shape.dims[axis] {
        throw .invalidGraph(
          "output '\(output.name)' is declared with dim \(size) at axis \(axis); the import computes \(type)")
      }
    }
    if dims.count != type.shape.rank {
      throw .invalidGraph("output '\(output.name)' is declared with rank \(dims.count); the import computes \(type)")
    }
  }

  /// The ONNX value names in the order they are defined: inputs, initializers, then each
  /// node's outputs.
  private static func namesInOrder(_ graph: ONNXGraph) -> [String] {
    graph.inputs.map(\.name) + graph.initializers.map(\.name) + graph.nodes.flatMap(\.outputs).filter { !$0.isEmpty }
  }
}
