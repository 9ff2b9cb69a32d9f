import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// `tessera import`, and `.onnx` models given straight to `run`, `compile` and `verify`.
@Suite(
  "tessera with ONNX models",
  .enabled(if: TestSupport.tesseraBinary != nil, "the tessera executable is not built next to the tests"))
struct ONNXCLITests {
  private func tessera(_ arguments: String...) throws -> TestSupport.ProcessResult {
    try TestSupport.runProcess(TestSupport.tesseraBinary!, arguments)
  }

  /// `y = relu(x @ w + b)` with a symbolic batch, written to a fresh folder.
  private func writeModel() throws -> (directory: String, path: String) {
    var writer = ONNXModelWriter()
    writer.input("x", .f32, [.symbol("batch"), 3])
    writer.initializer("w", Tensor([1, -1, 0, 2, 1, 1], shape: [3, 2]))
    writer.initializer("b", Tensor([0.5, -0.5], shape: [2]))
    writer.node("MatMul", ["x", "w"], ["h"])
    writer.node("Add", ["h", "b"], ["hb"])
    writer.node("Relu", ["hb"], ["y"])
    writer.output("y", .f32, [.symbol("batch"), 2])
    let directory = TestSupport.temporaryDirectory("onnx-cli")
    let path = directory + "/model.onnx"
    try Data(writer.bytes()).write(to: URL(fileURLWithPath: path))
    return (directory, path)
  }

  @Test func helpAndListOps() throws {
    let help = try tessera("import", "--help")
    #expect(help.status == 0 && help.stdout.contains("USAGE: tessera import MODEL.onnx"))
    let list = try tessera("import", "--list-ops")
    #expect(list.status == 0)
    let ops = Set(list.stdout.split(separator: "\n").map(String.init))
    #expect(ops.isSuperset(of: ["MatMul", "Gemm", "Softmax", "LayerNormalization", "Reshape", "Where"]))
    #expect(list.stdout.hasPrefix("ai.onnx opsets 7–28; \(ONNXImporter.supportedOps.count) ops:"))
  }

  @Test func importWritesATirGraphThatParses() throws {
    let (directory, model) = try writeModel()
    let symbolic = try tessera("import", model, "-o", directory + "/model.tir")
    #expect(symbolic.status == 2)
    #expect(symbolic.stderr.contains("input 'x' has a symbolic dim 'batch' at axis 0; fix it with --input-shape x="))
    let result = try tessera("import", model, "-o", directory + "/model.tir", "--input-shape", "x=4,3")
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("1 arguments, 5 ops, 1 results; wrote \(directory)/model.tir"))
    let graph = try Parser.parse(String(contentsOfFile: directory + "/model.tir", encoding: .utf8)).functions[0]
    #expect(graph.argumentTypes == [TensorType(.f32, [4, 3])] && graph.resultTypes == [TensorType(.f32, [4, 2])])
    // x = [[1,0,0],[0,1,0],…]: rows of w plus b, then relu.
    let x = Tensor([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1], shape: [4, 3])
    #expect(try TestSupport.evaluate(graph, [x])[0].doubles == [1.5, 0, 0.5, 1.5, 1.5, 0.5, 2.5, 1.5])
  }

  @Test func runVerifyAndCompileTakeOnnxDirectly() throws {
    let (directory, model) = try writeModel()
    let run = try tessera(
      "run", model, "--input-shape", "x=2,3", "--device", "all", "--random-inputs", "0", "-o", directory)
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stdout.contains("@main on") && run.stdout.contains("reference") && run.stdout.contains("cpu"))
    let verify = try tessera("verify", model, "--input-shape", "x=2,3")
    #expect(verify.status == 0 && verify.stdout.contains("@main: ok, 1 arguments"))
    let compile = try tessera("compile", model, "--input-shape", "x=2,3", "--target", "cpu", "--emit", "graph")
    #expect(compile.status == 0 && compile.stdout.contains("func @main(%x: f32[2,3])"))
  }

  @Test func badModelsAndMisusedOptionsExitWith2() throws {
    let directory = TestSupport.temporaryDirectory("onnx-cli-bad")
    try Data([0x3a, 0xff, 0xff, 0x03, 0x00]).write(to: URL(fileURLWithPath: directory + "/bad.onnx"))
    let bad = try tessera("run", directory + "/bad.onnx")
    #expect(
      bad.status == 2 && bad.stderr.contains("error: ONNX: model.graph at byte 4 needs 65535 bytes, only 1 remain"))
    let tir = try tessera("verify", TestSupport.repositoryRoot + "/examples/mlp.tir", "--input-shape", "x=1")
    #expect(tir.status == 2 && tir.stderr.contains("--input-shape applies to .onnx models only"))
    let (_, model) = try writeModel()
    let shape = try tessera("verify", model, "--input-shape", "x=2,three")
    #expect(shape.status == 2 && shape.stderr.contains("--input-shape 'x=2,three': expected NAME=D0,D1,…"))
  }
}
