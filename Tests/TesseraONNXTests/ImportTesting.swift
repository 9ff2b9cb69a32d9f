import Tessera
import TesseraTestSupport

/// Builds one-node models, imports them and runs them on the reference device.
enum ImportTesting {
  /// Imports the model `writer` describes.
  static func importGraph(_ writer: ONNXModelWriter, shapes: [String: [Int]] = [:]) throws -> Graph {
    let model = try ONNXModel(bytes: writer.bytes())
    return try ONNXImporter.importModel(
      model, options: ONNXImportOptions(evaluator: ReferenceConstantEvaluator(), inputShapes: shapes))
  }

  /// The results of the model on the reference device, inputs in graph-input order.
  static func run(_ writer: ONNXModelWriter, _ inputs: [Tensor]) throws -> [Tensor] {
    try TestSupport.evaluate(try importGraph(writer), inputs)
  }

  /// A model of one node `op` whose inputs are `inputs` (graph inputs) and `constants`
  /// (initializers, in the order given after the inputs; `""` names an omitted input), run on
  /// `inputs`' values; its one output.
  static func single(
    _ op: String, inputs: [Tensor], constants: [Tensor?] = [],
    _ attributes: [(String, ONNXModelWriter.AttributeValue)] = [],
    opset: Int64 = 17
  ) throws -> Tensor {
    var writer = ONNXModelWriter(opset: opset)
    var names: [String] = []
    for (index, tensor) in inputs.enumerated() {
      writer.input("in\(index)", tensor.dtype, tensor.shape.dims.map { .value(Int64($0)) })
      names.append("in\(index)")
    }
    for (index, tensor) in constants.enumerated() {
      guard let tensor else {
        names.append("")
        continue
      }
      writer.initializer("c\(index)", tensor)
      names.append("c\(index)")
    }
    writer.node(op, names, ["out"], name: "node0", attributes)
    writer.output("out")
    return try run(writer, inputs)[0]
  }

  /// The message of the error `body` throws, or `nil`.
  static func errorText(_ body: () throws -> Any) -> String? {
    do {
      _ = try body()
      return nil
    } catch {
      return "\(error)"
    }
  }
}

/// An i64 vector.
func i64(_ values: [Int]) -> Tensor { Tensor(values.map(Double.init), shape: [values.count], dtype: .i64) }

/// Whether two lists agree within `tolerance` elementwise.
func close(_ actual: [Double], _ expected: [Double], _ tolerance: Double = 1e-6) -> Bool {
  actual.count == expected.count && zip(actual, expected).allSatisfy { Swift.abs($0 - $1) <= tolerance }
}
