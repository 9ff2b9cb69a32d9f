import TesseraCompiler
import TesseraIR
import Testing

@Suite("Common-subexpression elimination")
struct CommonSubexpressionEliminationTests {
  @Test func equalNodesMergeIntoTheFirst() throws {
    let before = """
      func @f(%x: f32[4]) -> (f32[4], f32[4]) {
        %c1 = constant 2.0 : f32[]
        %a = exp %x : f32[4]
        %c2 = constant 2.0 : f32[]
        %b = exp %x : f32[4]
        %p = mul %a, %c1 : f32[4]
        %q = mul %b, %c2 : f32[4]
        %s = add %p, %q : f32[4]
        return %s, %q
      }
      """
    let expected = """
      func @f(%x: f32[4]) -> (f32[4], f32[4]) {
        %c1 = constant 2.0 : f32[]
        %a = exp %x : f32[4]
        %p = mul %a, %c1 : f32[4]
        %s = add %p, %p : f32[4]
        return %s, %p
      }
      """
    #expect(try PassTesting.run(CommonSubexpressionElimination(), on: before) == PassTesting.canonical(expected))
  }

  @Test func nodesThatDifferInAnythingStay() throws {
    let text = """
      func @f(%x: f32[4,3], %y: f32[4,3]) -> (f32[4], f32[3], bool[4,3], bool[4,3], f32[], f16[], f32[4,3], f32[4,3], f32[4,3]) {
        %r0 = reduce_sum %x {axes = [1]} : f32[4]
        %r1 = reduce_sum %x {axes = [0]} : f32[3]
        %lt = compare %x, %y {kind = lt} : bool[4,3]
        %gt = compare %x, %y {kind = gt} : bool[4,3]
        %c = constant 2.0 : f32[]
        %h = constant 2.0 : f16[]
        %a = sub %x, %y : f32[4,3]
        %b = sub %y, %x : f32[4,3]
        %m = mul %x, %y : f32[4,3]
        return %r0, %r1, %lt, %gt, %c, %h, %a, %b, %m
      }
      """
    #expect(try PassTesting.run(CommonSubexpressionElimination(), on: text) == PassTesting.canonical(text))
  }
}
