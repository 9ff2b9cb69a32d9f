import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// Small versions of the MobileNetV3 and BERT benchmark models (built by `scripts/onnx-mobilenetv3.py`
/// and `scripts/onnx-bert.py`, through `scripts/onnx-test-data.py models`) on every device the issue
/// names, against onnxruntime's outputs. Errors are measured against the largest expected value
/// (MobileNetV3's random-weight logits are small); the npu multiplies f16 operands on its cube,
/// hence its wider tolerance (docs/npu-isa.md). On `cpu`, BERT's embedding sum must run as the
/// native lookup with its epilogue.
@Suite("ONNX benchmark models on every device", .enabled(if: PythonONNX.available, PythonONNX.skipReason))
struct ONNXBenchmarkModelTests {
  private static let registry = DeviceRegistry.standard()

  /// The models, with their input names (`--input-shape` fixes their symbolic dims from the inputs).
  static let models: [String: [String]] = [
    "mobilenetv3_small": ["input"],
    "bert_small": ["input_ids", "attention_mask"],
    "bert_small_decomposed": ["input_ids", "attention_mask"],
  ]

  @Test(
    "benchmark model matches onnxruntime",
    arguments: models.keys.sorted(), ["reference", "cpu", "opencl", "vulkan", "npu"])
  func matchesOnnxruntime(model: String, device name: String) throws {
    guard let entry = Self.registry.entries.first(where: { $0.info.name.hasPrefix(name) }), let device = entry.device
    else {
      let reason = Self.registry.entries.first { $0.info.name.hasPrefix(name) }.map { "\($0.info.availability)" }
      print("skipped \(model) on \(name): \(reason ?? "no such device")")
      return
    }
    let folder = try PythonONNX.generate(["models"], label: "onnx-benchmark-models")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let directory = folder + "/" + model
    let names = Self.models[model]!
    let inputs = try names.indices.map { try NPY.read(path: directory + "/input_\($0).npy") }
    let shapes = Dictionary(uniqueKeysWithValues: zip(names, inputs.map(\.shape.dims)))
    let options = ONNXImportOptions(evaluator: ReferenceConstantEvaluator(), inputShapes: shapes)
    let graph = try ONNXImporter.importFile(directory + "/model.onnx", options: options)
    let compiled = try device.compile(graph)
    let results = try compiled.run(inputs: inputs)
    if name == "cpu", model.hasPrefix("bert") {
      let steps = try compiled.profile(inputs: inputs) ?? []
      #expect(
        steps.contains { $0.kernel.hasPrefix("native gather (f32 rows, epilogue)") },
        "BERT's embeddings (word lookup + position + token type) are one native step: \(steps.map(\.kernel))")
    }
    let tolerance = name == "npu" ? 1e-2 : 1e-4
    for (index, result) in results.enumerated() {
      let expected = try NPY.read(path: directory + "/output_\(index).npy")
      #expect(result.shape == expected.shape)
      let scale = expected.doubles.map(Swift.abs).max() ?? 0
      let ratio = TestSupport.toleranceRatio(result, expected, atol: tolerance * scale, rtol: tolerance)
      #expect(ratio <= 1, "\(model) output \(index) on \(name): \(ratio) times the tolerance")
    }
  }
}
