import TesseraCompiler
import TesseraIR
import Testing

@Suite("Canonicalize")
struct CanonicalizeTests {
  @Test func constantsMoveSecondInCommutativeOps() throws {
    let before = """
      func @f(%x: f32[4]) -> (f32[4], f32[4], f32[4], f32[4], bool[4], bool[4]) {
        %c = constant 2.0 : f32[]
        %a = add %c, %x : f32[4]
        %m = mul %c, %x : f32[4]
        %hi = max %c, %x : f32[4]
        %lo = min %c, %x : f32[4]
        %e = compare %c, %x {kind = eq} : bool[4]
        %n = compare %c, %x {kind = ne} : bool[4]
        return %a, %m, %hi, %lo, %e, %n
      }
      """
    let expected = """
      func @f(%x: f32[4]) -> (f32[4], f32[4], f32[4], f32[4], bool[4], bool[4]) {
        %c = constant 2.0 : f32[]
        %a = add %x, %c : f32[4]
        %m = mul %x, %c : f32[4]
        %hi = max %x, %c : f32[4]
        %lo = min %x, %c : f32[4]
        %e = compare %x, %c {kind = eq} : bool[4]
        %n = compare %x, %c {kind = ne} : bool[4]
        return %a, %m, %hi, %lo, %e, %n
      }
      """
    #expect(try PassTesting.run(Canonicalize(), on: before) == PassTesting.canonical(expected))
  }

  @Test func nonCommutativeOpsAndOtherOrdersAreLeftAlone() throws {
    let text = """
      func @f(%x: f32[4], %y: f32[4]) -> (f32[4], f32[4], bool[4], f32[4], f32[4]) {
        %c = constant 2.0 : f32[]
        %d = constant 3.0 : f32[]
        %s = sub %c, %x : f32[4]
        %q = div %c, %x : f32[4]
        %l = compare %c, %x {kind = lt} : bool[4]
        %a = add %y, %x : f32[4]
        %both = add %c, %d : f32[]
        %b = add %a, %both : f32[4]
        return %s, %q, %l, %a, %b
      }
      """
    #expect(try PassTesting.run(Canonicalize(), on: text) == PassTesting.canonical(text))
  }
}
