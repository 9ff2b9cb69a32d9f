import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraTestSupport
import Testing

@Suite("Standard pipeline")
struct PassPipelineTests {
  private let standard = PassPipeline.standard(evaluator: ReferenceConstantEvaluator())

  @Test func theStandardPipelineRunsTheCleanupPassesInOrder() throws {
    #expect(standard.map(\.name) == ["canonicalize", "simplify", "constant-fold", "cse", "dce"])
    let before = """
      func @f(%x: f32[4]) -> f32[4] {
        %zero = constant 0.0 : f32[]
        %two = constant 2.0 : f32[]
        %three = constant 3.0 : f32[]
        %a = add %zero, %x : f32[4]
        %six = mul %two, %three : f32[]
        %p = exp %a : f32[4]
        %q = exp %x : f32[4]
        %s = add %p, %q : f32[4]
        %y = mul %s, %six : f32[4]
        return %y
      }
      """
    let expected = """
      func @f(%x: f32[4]) -> f32[4] {
        %six = constant 6.0 : f32[]
        %p = exp %x : f32[4]
        %s = add %p, %p : f32[4]
        %y = mul %s, %six : f32[4]
        return %y
      }
      """
    let after = try PassManager(standard).run(TestSupport.parseOne(before))
    #expect(Printer.print(after) == (try PassTesting.canonical(expected)))
  }
}
