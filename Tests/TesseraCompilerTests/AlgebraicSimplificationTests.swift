import TesseraCompiler
import TesseraIR
import TesseraRuntime
import TesseraTestSupport
import Testing

@Suite("Algebraic simplification")
struct AlgebraicSimplificationTests {
  @Test func identityArithmeticIsRemoved() throws {
    let before = """
      func @f(%x: f32[2,4]) -> f32[2,4] {
        %one = constant 1.0 : f32[]
        %zero = constant 0.0 : f32[4]
        %a = mul %x, %one : f32[2,4]
        %b = mul %one, %a : f32[2,4]
        %c = add %b, %zero : f32[2,4]
        %d = add %zero, %c : f32[2,4]
        %e = sub %d, %zero : f32[2,4]
        %g = div %e, %one : f32[2,4]
        %y = exp %g : f32[2,4]
        return %y
      }
      """
    let expected = """
      func @f(%x: f32[2,4]) -> f32[2,4] {
        %y = exp %x : f32[2,4]
        return %y
      }
      """
    #expect(try PassTesting.run(AlgebraicSimplification(), on: before) == PassTesting.canonical(expected))
  }

  @Test func identityArithmeticThatChangesTheResultIsKept() throws {
    // Broadcasting to a bigger shape, a non-splat constant, a wrong value, constants on the
    // wrong side of sub and div, and a result that is the constant's type rather than x's.
    let text = """
      func @f(%x: f32[4], %s: f32[]) -> (f32[2,4], f32[4], f32[4], f32[4], f32[4], f32[4]) {
        %ones = constant 1.0 : f32[2,4]
        %mixed = constant [1.0, 1.0, 2.0, 1.0] : f32[4]
        %two = constant 2.0 : f32[]
        %zero = constant 0.0 : f32[4]
        %one = constant 1.0 : f32[4]
        %a = mul %x, %ones : f32[2,4]
        %b = mul %x, %mixed : f32[4]
        %c = mul %x, %two : f32[4]
        %d = sub %zero, %x : f32[4]
        %e = div %one, %x : f32[4]
        %g = add %s, %zero : f32[4]
        return %a, %b, %c, %d, %e, %g
      }
      """
    #expect(try PassTesting.run(AlgebraicSimplification(), on: text) == PassTesting.canonical(text))
  }

  @Test func movementChainsMerge() throws {
    let before = """
      func @f(%x: f32[2,3,4]) -> (f32[4,3,2], f32[2,3,4], f32[6,4], f32[2,3,4], f32[2,3,4]) {
        %t1 = transpose %x {perm = [1, 0, 2]} : f32[3,2,4]
        %t2 = transpose %t1 {perm = [2, 0, 1]} : f32[4,3,2]
        %r1 = transpose %x : f32[4,3,2]
        %r2 = transpose %r1 : f32[2,3,4]
        %n1 = neg %r2 : f32[2,3,4]
        %n2 = neg %n1 : f32[2,3,4]
        %s1 = reshape %x {shape = [24]} : f32[24]
        %s2 = reshape %s1 {shape = [4, 6]} : f32[4,6]
        %s3 = reshape %s2 {shape = [-1, 4]} : f32[6,4]
        %same = reshape %n2 {shape = [2, 3, 4]} : f32[2,3,4]
        %full = slice %same {start = [0, 0, 0], end = [2, 3, 4], step = [1, 1, 1]} : f32[2,3,4]
        %b = broadcast %full {shape = [2, 3, 4]} : f32[2,3,4]
        %c = cast %b {to = f32} : f32[2,3,4]
        %id = transpose %c {perm = [0, 1, 2]} : f32[2,3,4]
        %y = exp %id : f32[2,3,4]
        return %t2, %r2, %s3, %y, %n2
      }
      """
    let expected = """
      func @f(%x: f32[2,3,4]) -> (f32[4,3,2], f32[2,3,4], f32[6,4], f32[2,3,4], f32[2,3,4]) {
        %t2 = transpose %x {perm = [2, 1, 0]} : f32[4,3,2]
        %s3 = reshape %x {shape = [-1, 4]} : f32[6,4]
        %y = exp %x : f32[2,3,4]
        return %t2, %x, %s3, %y, %x
      }
      """
    #expect(try PassTesting.run(AlgebraicSimplification(), on: before) == PassTesting.canonical(expected))
  }

  @Test func movementThatChangesTheValueIsKept() throws {
    let text = """
      func @f(%x: f32[3,3], %v: f32[3]) -> (f32[3,3], f32[3,3], f32[2,3], f32[2,3], f16[3,3], f32[3,3], f32[3]) {
        %t = transpose %x : f32[3,3]
        %u = transpose %x {perm = [1, 0]} : f32[3,3]
        %s = slice %x {start = [1, 0], end = [3, 3]} : f32[2,3]
        %s2 = slice %x {start = [0, 0], end = [3, 3], step = [2, 1]} : f32[2,3]
        %h = cast %x {to = f16} : f16[3,3]
        %b = broadcast %v {shape = [3, 3]} : f32[3,3]
        %n = neg %v : f32[3]
        return %u, %b, %s, %s2, %h, %t, %n
      }
      """
    #expect(try PassTesting.run(AlgebraicSimplification(), on: text) == PassTesting.canonical(text))
  }

  @Test func transposesOfUnitAxesBecomeReshapes() throws {
    // One token's attention heads: [1, kvH, g, d] -> [kvH, g, 1, d] and back move only the axis
    // of size 1. %c moves an axis of 3 past another one: a real transpose.
    let before = """
      func @f(%q: f32[1,3,2,4], %o: f32[3,2,1,4]) -> (f32[3,2,1,4], f32[1,3,2,4], f32[2,1,3,4]) {
        %a = transpose %q {perm = [1, 2, 0, 3]} : f32[3,2,1,4]
        %b = transpose %o {perm = [2, 0, 1, 3]} : f32[1,3,2,4]
        %c = transpose %q {perm = [2, 0, 1, 3]} : f32[2,1,3,4]
        return %a, %b, %c
      }
      """
    let expected = """
      func @f(%q: f32[1,3,2,4], %o: f32[3,2,1,4]) -> (f32[3,2,1,4], f32[1,3,2,4], f32[2,1,3,4]) {
        %a = reshape %q {shape = [3, 2, 1, 4]} : f32[3,2,1,4]
        %b = reshape %o {shape = [1, 3, 2, 4]} : f32[1,3,2,4]
        %c = transpose %q {perm = [2, 0, 1, 3]} : f32[2,1,3,4]
        return %a, %b, %c
      }
      """
    #expect(try PassTesting.run(AlgebraicSimplification(), on: before) == PassTesting.canonical(expected))
    // The same elements in the same places: the reference evaluator on both graphs.
    let original = try TestSupport.parseOne(before)
    var generator = SeededRandom(seed: 5)
    let inputs = original.argumentTypes.map { Tensor.random($0, using: &generator) }
    let simplified = try PassManager([AlgebraicSimplification()]).run(original)
    #expect(try TestSupport.evaluate(simplified, inputs) == TestSupport.evaluate(original, inputs))
  }
}
