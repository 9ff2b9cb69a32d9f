import TesseraCPU
import TesseraCompiler
import TesseraIR
import Testing

@Suite("Constant folding")
struct ConstantFoldingTests {
  private let fold = ConstantFolding(evaluator: ReferenceConstantEvaluator())

  @Test func chainsOfConstantOpsFold() throws {
    let before = """
      func @f(%x: f32[3]) -> f32[3] {
        %a = constant [1.0, 2.0, 3.0] : f32[3]
        %b = constant 2.0 : f32[]
        %c = mul %a, %b : f32[3]
        %d = neg %c : f32[3]
        %e = add %d, %c : f32[3]
        %s = reduce_sum %c {keepdims = true} : f32[1]
        %t = add %x, %s : f32[3]
        %y = mul %t, %d : f32[3]
        return %y
      }
      """
    let expected = """
      func @f(%x: f32[3]) -> f32[3] {
        %d = constant [-2.0, -4.0, -6.0] : f32[3]
        %s = constant 12.0 : f32[1]
        %t = add %x, %s : f32[3]
        %y = mul %t, %d : f32[3]
        return %y
      }
      """
    #expect(try PassTesting.run(fold, on: before) == PassTesting.canonical(expected))
  }

  @Test func integerAndRepeatedOperandsFold() throws {
    let before = """
      func @f(%x: i32[2]) -> i32[2] {
        %a = constant [7, -7] : i32[2]
        %b = div %a, %a : i32[2]
        %m = constant -2 : i32[]
        %q = div %a, %m : i32[2]
        %y = add %x, %q : i32[2]
        %z = mul %y, %b : i32[2]
        return %z
      }
      """
    let expected = """
      func @f(%x: i32[2]) -> i32[2] {
        %b = constant 1 : i32[2]
        %q = constant [-4, 3] : i32[2]
        %y = add %x, %q : i32[2]
        %z = mul %y, %b : i32[2]
        return %z
      }
      """
    #expect(try PassTesting.run(fold, on: before) == PassTesting.canonical(expected))
  }

  @Test func largeResultsFailuresAndNonConstantOperandsAreKept() throws {
    let text = """
      func @f(%x: f32[4,4], %i: i32[2]) -> (f32[4,4], f32[4,4], f32[2,4]) {
        %c = constant 1.5 : f32[]
        %big = broadcast %c {shape = [4, 4]} : f32[4,4]
        %y = add %x, %c : f32[4,4]
        %table = constant 0.5 : f32[3,4]
        %bad = constant [0, 9] : i32[2]
        %g = gather %table, %bad : f32[2,4]
        return %big, %y, %g
      }
      """
    let small = ConstantFolding(evaluator: ReferenceConstantEvaluator(), maxElements: 8)
    #expect(try PassTesting.run(small, on: text) == PassTesting.canonical(text))
  }

  @Test func aLargeTransposeOfAConstantReadOnlyThereFoldsInItsPlace() throws {
    let text = """
      func @f(%x: f32[2,3], %z: f32[3,2]) -> (f32[2,2], f32[3,3], f32[3,2]) {
        %w = constant [1.0, 2.0, 3.0, 4.0, 5.0, 6.0] : f32[2,3]
        %t = transpose %w {perm = [1, 0]} : f32[3,2]
        %y = matmul %x, %t : f32[2,2]
        %v = constant [1.0, 2.0, 3.0, 4.0, 5.0, 6.0] : f32[3,2]
        %u = transpose %v {perm = [1, 0]} : f32[2,3]
        %e = matmul %z, %u : f32[3,3]
        return %y, %e, %v
      }
      """
    // %w is read only by its transpose, so the transpose folds although it is larger than the
    // limit; %v is also returned, so folding would add a second copy: it is kept.
    let expected = """
      func @f(%x: f32[2,3], %z: f32[3,2]) -> (f32[2,2], f32[3,3], f32[3,2]) {
        %t = constant [1.0, 4.0, 2.0, 5.0, 3.0, 6.0] : f32[3,2]
        %y = matmul %x, %t : f32[2,2]
        %v = constant [1.0, 2.0, 3.0, 4.0, 5.0, 6.0] : f32[3,2]
        %u = transpose %v {perm = [1, 0]} : f32[2,3]
        %e = matmul %z, %u : f32[3,3]
        return %y, %e, %v
      }
      """
    let small = ConstantFolding(evaluator: ReferenceConstantEvaluator(), maxElements: 4)
    #expect(try PassTesting.run(small, on: text) == PassTesting.canonical(expected))
  }

  /// An evaluator that refuses everything: nothing may fold.
  private struct Refusing: ConstantEvaluator {
    func evaluate(_ graph: Graph, inputs: [Tensor]) -> [Tensor]? { nil }
  }

  @Test func theEvaluatorDecides() throws {
    let text = """
      func @f() -> f32[] {
        %a = constant 1.0 : f32[]
        %b = add %a, %a : f32[]
        return %b
      }
      """
    #expect(try PassTesting.run(ConstantFolding(evaluator: Refusing()), on: text) == PassTesting.canonical(text))
    #expect(try PassTesting.run(fold, on: text).contains("%b = constant 2.0 : f32[]"))
  }
}
