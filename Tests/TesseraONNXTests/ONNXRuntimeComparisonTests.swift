import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// Models built with `onnx.helper`, run by onnxruntime and by Tessera on `reference` and `cpu`.
@Suite("ONNX models against onnxruntime", .enabled(if: PythonONNX.available, PythonONNX.skipReason))
struct ONNXRuntimeComparisonTests {
  @Test("MLP, transformer block and small CNN match onnxruntime", arguments: ["mlp", "transformer_block", "small_cnn"])
  func matchesOnnxruntime(model: String) throws {
    let directory = try PythonONNX.generate(["models"], label: "onnx-models") + "/" + model
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let input = try NPY.read(path: directory + "/input_0.npy")
    let expected = try NPY.read(path: directory + "/output_0.npy")
    let options = ONNXImportOptions(evaluator: ReferenceConstantEvaluator(), inputShapes: ["x": input.shape.dims])
    let graph = try ONNXImporter.importFile(directory + "/model.onnx", options: options)
    for device in try PythonONNX.devices() {
      let result = try device.compile(graph).run(inputs: [input])[0]
      #expect(result.shape == expected.shape)
      let ratio = TestSupport.toleranceRatio(result, expected, atol: 1e-5, rtol: 1e-4)
      #expect(ratio <= 1, "\(model) on \(device.info.name): \(ratio) times the tolerance")
    }
  }
}
