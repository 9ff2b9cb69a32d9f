import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// ONNX's own backend node tests (`onnx.backend.test.case.node`) for every op the importer
/// claims, each model run on `reference` and `cpu` and compared with ONNX's expected outputs.
/// A test whose model the importer declines (an element type Tessera lacks, such as double, or
/// an attribute it does not support) is listed, not failed: declining with a clear error is the
/// importer's contract; a wrong answer is a failure.
@Suite("ONNX backend node tests", .enabled(if: PythonONNX.available, PythonONNX.skipReason))
struct ONNXNodeTests {
  @Test func claimedOpsPassONNXsNodeTests() throws {
    let root = try PythonONNX.generate(["node"] + ONNXImporter.supportedOps, label: "onnx-node-tests")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let devices = try PythonONNX.devices()
    var passed = 0
    var declined: [String] = []
    for folder in PythonONNX.folders(root) {
      let name = (folder as NSString).lastPathComponent
      for dataSet in PythonONNX.folders(folder) where dataSet.contains("/test_data_set_") {
        let graph: Graph
        let inputs: [Tensor]
        do {
          (graph, inputs) = try importBindingShapeInputs(folder + "/model.onnx", dataSet)
        } catch {
          declined.append("\(name): \(error)")
          break
        }
        let expected = try tensors(dataSet, "output", count: graph.results.count)
        for device in devices {
          let results = try device.compile(graph).run(inputs: inputs)
          for (index, (result, want)) in zip(results, expected).enumerated() {
            let rtol = want.dtype == .bf16 ? 2e-2 : want.dtype == .f16 ? 4e-3 : 1e-3
            let ratio = TestSupport.toleranceRatio(result, want, atol: 1e-4, rtol: rtol)
            #expect(
              result.shape == want.shape && ratio <= 1,
              "\(name) output \(index) on \(device.info.name): \(result) vs expected \(want)")
          }
        }
      }
      if declined.last?.hasPrefix(name + ":") != true { passed += 1 }
    }
    print("ONNX node tests: \(passed) imported and compared on reference and cpu; \(declined.count) declined")
    for line in declined { print("  declined \(line)") }
    #expect(passed >= 300, "only \(passed) node tests imported")
  }

  /// Imports the model; when an operand that must be known at import (a shape, axes) is a
  /// graph input, as node tests make them, imports it again with the non-float inputs of
  /// `dataSet` bound as constants. Returns the graph and the remaining inputs in order.
  private func importBindingShapeInputs(_ path: String, _ dataSet: String) throws -> (Graph, [Tensor]) {
    let model = try ONNXModel(path: path)
    let names = model.graph.inputs.map(\.name).filter { name in !model.graph.initializers.contains { $0.name == name } }
    let all = try tensors(dataSet, "input", count: names.count)
    var options = ONNXImportOptions(evaluator: ReferenceConstantEvaluator())
    do {
      return (try ONNXImporter.importModel(model, options: options), all)
    } catch {
      guard "\(error)".contains("must be known at import time") else { throw error }
      let bound = names.indices.filter { !all[$0].dtype.isFloatingPoint }
      options.constantInputs = Dictionary(uniqueKeysWithValues: bound.map { (names[$0], all[$0]) })
      let graph = try ONNXImporter.importModel(model, options: options)
      return (graph, names.indices.filter { !bound.contains($0) }.map { all[$0] })
    }
  }

  private func tensors(_ folder: String, _ kind: String, count: Int) throws -> [Tensor] {
    try (0..<count).map { index in
      let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(kind)_\(index).pb")))
      return try ONNXTensor(bytes: bytes, path: "\(kind)_\(index).pb").tensor()
    }
  }
}
