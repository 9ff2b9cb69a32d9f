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

/// The small CNN (convolutions with groups, strides and `SAME_UPPER`, batch norm, max, average and
/// global pooling) on every usable device against onnxruntime: the decomposed window ops on each
/// target. The npu multiplies f16 operands on its cube, hence its wider tolerance (docs/npu-isa.md).
@Suite("ONNX small CNN on every device", .enabled(if: PythonONNX.available, PythonONNX.skipReason))
struct ONNXConvolutionDeviceTests {
  private static let registry = DeviceRegistry.standard()

  @Test("small CNN matches onnxruntime", arguments: registry.entries.map(\.info.name))
  func smallCNN(device name: String) throws {
    guard let device = Self.registry.entries.first(where: { $0.info.name == name })?.device else {
      print("skipped small_cnn on \(name): \(Self.registry.entries.first { $0.info.name == name }!.info.availability)")
      return
    }
    let directory = try PythonONNX.generate(["models"], label: "onnx-models") + "/small_cnn"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let input = try NPY.read(path: directory + "/input_0.npy")
    let expected = try NPY.read(path: directory + "/output_0.npy")
    let options = ONNXImportOptions(evaluator: ReferenceConstantEvaluator(), inputShapes: ["x": input.shape.dims])
    let graph = try ONNXImporter.importFile(directory + "/model.onnx", options: options)
    let result = try device.compile(graph).run(inputs: [input])[0]
    let tolerance = name == "npu" ? 1e-2 : 1e-4
    #expect(result.shape == expected.shape)
    let ratio = TestSupport.toleranceRatio(result, expected, atol: tolerance, rtol: tolerance * 10)
    #expect(ratio <= 1, "small_cnn on \(name): \(ratio) times the tolerance; \(result) vs \(expected)")
  }
}
