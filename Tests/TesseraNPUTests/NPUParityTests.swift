import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraNPU
import TesseraRuntime
import TesseraTestSupport
import Testing

/// The npu device built as the umbrella builds it: standard passes, CPU fallback on the KIR
/// interpreter.
func npuDevice() -> NPUDevice {
  NPUDevice(
    options: CompileOptions(passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), fallback: "cpu"),
    host: InterpreterKernelRunner())
}

/// The npu's tolerance (DESIGN.md numerics contract, docs/npu-isa.md): vector ops compute in
/// f32; cube operands are rounded to fp16 (relative error 2^-11 each) and accumulated in fp32,
/// so a matmul element may be off by 2^-10 · Σ|a||b|.
@Suite("NPU parity with the reference evaluator")
struct NPUParityTests {
  @Test("op examples", arguments: OpExample.all)
  func opExamples(example: OpExample) throws {
    let graph = try TestSupport.parseOne(example.text)
    var generator = SeededRandom(seed: 5)
    let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 2, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)
    let device = npuDevice()
    let actual = try device.compile(graph).run(inputs: inputs)
    let usesCube = try device.plan(graph).steps.contains { $0.group.kind == .matmul && $0.device == "npu" }
    for (a, e) in zip(actual, expected) {
      #expect(a.type == e.type)
      let tolerance = usesCube ? 1e-2 : e.dtype == .f16 ? 2e-3 : 2e-5
      #expect(
        TestSupport.toleranceRatio(a, e, atol: tolerance, rtol: tolerance * 10) <= 1,
        "\(example): \(a.preview()) vs \(e.preview())")
    }
  }

  @Test func programsRunWhatThePartitionerPlacesOnTheNPU() throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[4,8], %w: f32[8,16], %b: f32[16]) -> (f32[4,16], i32[4]) {
        %h = matmul %x, %w : f32[4,16]
        %y = add %h, %b : f32[4,16]
        %z = relu %y : f32[4,16]
        %s = reduce_sum %z {axes = [1], keepdims = true} : f32[4,1]
        %r = div %z, %s : f32[4,16]
        %i = argmax %r {axis = 1} : i32[4]
        return %r, %i
      }
      """)
    let lowered = try npuDevice().programs(graph)
    let devices = lowered.plan.steps.filter { $0.call != nil }.map(\.device)
    // The reduction and argmax (an i32 result, stored by the DMA's conversion) run there too.
    #expect(devices == ["npu", "npu", "npu", "npu"])
    #expect(lowered.programs.count == 4 && lowered.hostSteps.isEmpty)
  }

  @Test(
    "matmul shapes on the cube",
    arguments: [
      ("f32[17,33]", "f32[33,19]", "f32[17,19]"), ("f32[130,70]", "f32[70,300]", "f32[130,300]"),
      ("f16[16,16]", "f16[16,16]", "f16[16,16]"), ("f32[3,5,40]", "f32[40,7]", "f32[3,5,7]"),
      ("f32[2,1,4,9]", "f32[3,9,5]", "f32[2,3,4,5]"), ("f32[33]", "f32[33,20]", "f32[20]"),
      ("f32[6,33]", "f32[33]", "f32[6]"),
    ])
  func matmulShapes(a: String, b: String, result: String) throws {
    let graph = try TestSupport.parseOne(
      "func @f(%a: \(a), %b: \(b)) -> \(result) {\n  %c = matmul %a, %b : \(result)\n  return %c\n}\n")
    var generator = SeededRandom(seed: 11)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let device = npuDevice()
    let lowered = try device.programs(graph)
    #expect(lowered.programs.count == 1, "\(lowered.hostSteps)")
    let actual = try device.compile(graph).run(inputs: inputs)[0]
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    // Bound: 2^-10 · (|A| @ |B|), computed by the reference on absolute values.
    let absolute = inputs.map { Tensor($0.doubles.map(Swift.abs), shape: $0.shape, dtype: $0.dtype) }
    let bound = try TestSupport.evaluate(graph, absolute)[0].doubles
    let halfRounding = result.hasPrefix("f16") ? 1.0 / 1024 : 0
    for (index, (found, wanted)) in zip(actual.doubles, expected.doubles).enumerated() {
      let allowed = bound[index] / 1024 + Swift.abs(wanted) * halfRounding + 1e-6
      #expect(Swift.abs(found - wanted) <= allowed, "element \(index): \(found) vs \(wanted)")
    }
  }

  @Test func largeMatmulReachesTheCubeRoofline() throws {
    let graph = try TestSupport.parseOne(
      "func @f(%a: f16[256,512], %b: f16[512,512]) -> f16[256,512] {\n  %c = matmul %a, %b : f16[256,512]\n  return %c\n}\n"
    )
    let lowered = try npuDevice().programs(graph)
    var memory = [UInt8](repeating: 0, count: lowered.layout.bytes)
    let report = try Emulator().run(lowered.programs.values.first!, globalMemory: &memory, functional: false)
    // 256·512·512 MACs at 4096 per cycle is 16384 cycles of cube work; pipeline fill and drain
    // may add at most a quarter.
    #expect(report.macs == 256 * 512 * 512)
    #expect(report.cycles >= 16384 && report.cycles <= 16384 * 5 / 4, "\(report.summary)")
  }
}
