import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// End-to-end tests of the `tessera` executable: exit codes, messages, files written.
@Suite(
  "tessera command line",
  .enabled(if: TestSupport.tesseraBinary != nil, "the tessera executable is not built next to the tests"))
struct CLITests {
  private let example = TestSupport.repositoryRoot + "/examples/mlp.tir"

  private func tessera(_ arguments: String..., in directory: String? = nil) throws -> TestSupport.ProcessResult {
    try TestSupport.runProcess(TestSupport.tesseraBinary!, arguments, directory: directory)
  }

  @Test(
    "--help on every command",
    arguments: ["devices", "verify", "print", "run", "compile", "generate", "parity", "import"])
  func help(command: String) throws {
    let result = try tessera(command, "--help")
    #expect(result.status == 0)
    #expect(result.stdout.contains("USAGE: tessera \(command)"))
  }

  @Test func usageErrorsExitWith2() throws {
    let none = try tessera()
    #expect(none.status == 2 && none.stdout.contains("COMMANDS:"))
    let unknown = try tessera("frobnicate")
    #expect(unknown.status == 2 && unknown.stderr.contains("unknown command 'frobnicate'"))
    let option = try tessera("verify", example, "--fast")
    #expect(option.status == 2 && option.stderr.contains("unknown option '--fast' for 'tessera verify'"))
    let missing = try tessera("run")
    #expect(missing.status == 2 && missing.stderr.contains("missing argument: tessera run GRAPH.tir"))
  }

  @Test func verifyPrintsInferredTypes() throws {
    let result = try tessera("verify", example)
    #expect(result.status == 0)
    #expect(result.stdout.contains("@mlp: ok, 4 arguments, 6 ops, 2 results"))
    #expect(result.stdout.range(of: #"%logits\s+f32\[4,10\]\s+matmul"#, options: .regularExpression) != nil)
  }

  @Test func verifyReportsLocationOfBadInput() throws {
    let directory = TestSupport.temporaryDirectory()
    let path = directory + "/bad.tir"
    try "func @f(%x: f32[2]) -> f32[2] {\n  %y = frob %x : f32[2]\n  return %y\n}\n".write(
      toFile: path, atomically: true, encoding: .utf8)
    let result = try tessera("verify", path)
    #expect(result.status == 2)
    #expect(result.stderr.contains("\(path):2:8: error: unknown op 'frob'"))
    let absent = try tessera("verify", directory + "/absent.tir")
    #expect(absent.status == 2 && absent.stderr.contains("no such file"))
  }

  @Test func printIsCanonicalAndParsesBack() throws {
    let result = try tessera("print", example)
    #expect(result.status == 0)
    let original = try Parser.parse(String(contentsOfFile: example, encoding: .utf8))
    #expect(try Parser.parse(result.stdout) == original)
  }

  @Test func devicesListsTheReference() throws {
    let result = try tessera("devices")
    #expect(result.status == 0)
    #expect(result.stdout.contains("reference") && result.stdout.contains("USABLE"))
  }

  /// Writes random inputs for the example and returns their paths by argument name.
  private func writeInputs(_ directory: String) throws -> ([Tensor], [String]) {
    let graph = try Parser.parse(String(contentsOfFile: example, encoding: .utf8)).functions[0]
    var generator = SeededRandom(seed: 11)
    var tensors: [Tensor] = []
    var flags: [String] = []
    for argument in graph.arguments {
      let tensor = Tensor.random(graph.type(of: argument), using: &generator)
      let path = "\(directory)/\(graph[argument].name).npy"
      try NPY.write(tensor, path: path)
      tensors.append(tensor)
      flags += ["--input", "\(graph[argument].name)=\(path)"]
    }
    return (tensors, flags)
  }

  @Test func runWritesResultsThatMatchNumpy() throws {
    let directory = TestSupport.temporaryDirectory()
    let (inputs, flags) = try writeInputs(directory)
    let result = try TestSupport.runProcess(
      TestSupport.tesseraBinary!, ["run", example] + flags + ["--output-dir", directory + "/out"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("result0: f32[4,10]") && result.stdout.contains("result1: i32[4]"))
    let probabilities = try NPY.read(path: directory + "/out/result0.npy")
    let classes = try NPY.read(path: directory + "/out/result1.npy")
    #expect(probabilities.type == TensorType(.f32, [4, 10]) && classes.type == TensorType(.i32, [4]))
    let rowSums = (0..<4).map { row in probabilities.doubles[(row * 10)..<(row * 10 + 10)].reduce(0, +) }
    #expect(rowSums.allSatisfy { Swift.abs($0 - 1) < 1e-5 })
    let script = """
      x, w1, b1, w2 = ins; h = x @ w1 + b1; a = h / (1 + np.exp(-h)); l = a @ w2
      e = np.exp(l - l.max(-1, keepdims=True)); out = e / e.sum(-1, keepdims=True)
      """
    if let expected = try TestSupport.numpy(script, inputs: inputs) {
      #expect(TestSupport.toleranceRatio(probabilities, expected, atol: 1e-6, rtol: 1e-4) <= 1)
      let values: [Double] = expected.doubles
      let argmaxes: [Double] = (0..<4).map { (row: Int) -> Double in
        let columns: [Double] = Array(values[(row * 10)..<(row * 10 + 10)])
        return Double(columns.firstIndex(of: columns.max()!)!)
      }
      #expect(classes.doubles == argmaxes)
    }
  }

  @Test func runNamesTheBadArgument() throws {
    let directory = TestSupport.temporaryDirectory()
    let (_, flags) = try writeInputs(directory)
    let binary = TestSupport.tesseraBinary!
    let missing = try TestSupport.runProcess(binary, ["run", example] + flags.dropLast(2))
    #expect(missing.status == 2 && missing.stderr.contains("no input given for argument %w2"))
    try NPY.write(Tensor(repeating: 1, shape: [4, 64], dtype: .i32), path: directory + "/wrong.npy")
    let wrongType = try TestSupport.runProcess(
      binary, ["run", example] + flags.dropFirst(2) + ["--input", "x=\(directory)/wrong.npy"])
    #expect(
      wrongType.status == 2
        && wrongType.stderr.contains("--input x=\(directory)/wrong.npy: expected f32[4,64], found i32[4,64]"))
    let extra = try TestSupport.runProcess(
      binary, ["run", example] + flags + ["--input", "zz=\(directory)/wrong.npy"])
    #expect(extra.status == 2 && extra.stderr.contains("input 'zz' is not an argument of the graph"))
    let malformed = try tessera("run", example, "--input", "x")
    #expect(malformed.status == 2 && malformed.stderr.contains("--input 'x': expected NAME=FILE.npy"))
    try "not an npy".write(toFile: directory + "/junk.npy", atomically: true, encoding: .utf8)
    let junk = try tessera("run", example, "--input", "x=\(directory)/junk.npy")
    #expect(junk.status == 2 && junk.stderr.contains("\(directory)/junk.npy: not a valid .npy file"))
    let device = try tessera("run", example, "--random-inputs", "1", "--device", "tpu")
    #expect(device.status == 2 && device.stderr.contains("unknown device 'tpu'"))
    let seed = try tessera("run", example, "--random-inputs", "one")
    #expect(seed.status == 2 && seed.stderr.contains("--random-inputs expects an integer, found 'one'"))
  }

  @Test func runOnAllDevicesPrintsResultsSideBySide() throws {
    let result = try tessera("run", example, "--device", "all", "--random-inputs", "0")
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("MAX |Δ|") && result.stdout.contains("reference"))
  }
}

@Suite(
  "tessera compile",
  .enabled(if: TestSupport.tesseraBinary != nil, "the tessera executable is not built next to the tests"))
struct CompileCLITests {
  private let example = TestSupport.repositoryRoot + "/examples/mlp.tir"

  private func tessera(_ arguments: String...) throws -> TestSupport.ProcessResult {
    try TestSupport.runProcess(TestSupport.tesseraBinary!, arguments)
  }

  @Test func planIsPrintedByDefault() throws {
    let result = try tessera("compile", example)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.hasPrefix("plan for @mlp on kir (fallback cpu): "))
    #expect(result.stdout.contains("k0_silu [matmul] on kir: matmul %h, add %hb, silu %a"))
    #expect(result.stdout.contains("memory: arena peak"))
  }

  @Test func kernelsAndGraphAreWrittenToFiles() throws {
    let directory = TestSupport.temporaryDirectory()
    let kir = try tessera("compile", example, "--emit", "kir", "--output-dir", directory)
    #expect(kir.status == 0)
    let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    #expect(files.first == "k0_silu.kir" && files.allSatisfy { $0.hasSuffix(".kir") })
    let kernel = try String(contentsOfFile: directory + "/k0_silu.kir", encoding: .utf8)
    #expect(kernel.contains("kernel @k0_silu(out: f32[] write, in0: f32[] read"))
    let graph = try tessera("compile", example, "--emit", "graph")
    #expect(graph.status == 0)
    let optimised = try Parser.parse(graph.stdout).functions[0]
    #expect(optimised.nodes.contains { $0.kind == .softmax }, "softmax has a library kernel, so it is not decomposed")
  }

  @Test func printAfterAllShowsEveryPass() throws {
    let result = try tessera("compile", example, "--print-after-all")
    #expect(result.status == 0)
    for pass in ["canonicalize", "simplify", "constant-fold", "cse", "dce"] {
      #expect(result.stderr.contains("// after \(pass)\n"), "missing \(pass)")
    }
  }

  @Test func badTargetOrArtifactExitsWith2() throws {
    let target = try tessera("compile", example, "--target", "tpu")
    #expect(target.status == 2 && target.stderr.contains("--target: unknown target 'tpu'"))
    let emit = try tessera("compile", example, "--emit", "ptx")
    #expect(emit.status == 2 && emit.stderr.contains("--emit: unknown artifact 'ptx'"))
    let spirv = try tessera("compile", example, "--emit", "spirv-asm")
    #expect(spirv.status == 2 && spirv.stderr.contains("--emit spirv-asm needs --target vulkan"))
    let binary = try tessera("compile", example, "--target", "vulkan", "--emit", "spirv")
    #expect(binary.status == 2 && binary.stderr.contains("give --output-dir DIR"))
  }

  @Test func spirvModulesAreWrittenForTheVulkanTarget() throws {
    let text = try tessera("compile", example, "--target", "vulkan", "--emit", "spirv-asm")
    #expect(text.status == 0, "\(text.stderr)")
    #expect(text.stdout.contains("OpEntryPoint 5 ") && text.stdout.contains("OpExtInstImport \"GLSL.std.450\""))
    let directory = TestSupport.temporaryDirectory()
    let binary = try tessera("compile", example, "--target", "vulkan", "--emit", "spirv", "-o", directory)
    #expect(binary.status == 0, "\(binary.stderr)")
    let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    #expect(!files.isEmpty && files.allSatisfy { $0.hasSuffix(".spv") })
    let words = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + files[0]))
    #expect(Array(words.prefix(4)) == [0x03, 0x02, 0x23, 0x07], "the SPIR-V magic number, little-endian")
  }
}
