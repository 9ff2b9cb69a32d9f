import TesseraIR
import Testing

@Suite("Parser errors name the place and what was expected")
struct ParserErrorTests {
  /// Parses `text` and returns the error's message; fails the test when parsing succeeds.
  private func error(_ text: String) -> String {
    do {
      _ = try Parser.parse(text, file: "bad.tir")
      Issue.record("expected a parse error")
      return ""
    } catch {
      return error.description
    }
  }

  @Test func unknownOp() {
    let message = error("func @f(%x: f32[2]) -> f32[2] {\n  %y = frobnicate %x : f32[2]\n  return %y\n}\n")
    #expect(message == "bad.tir:2:8: error: unknown op 'frobnicate'")
  }

  @Test func badType() {
    #expect(
      error("func @f(%x: f33[2]) -> f32[2] {\n  return %x\n}").hasPrefix("bad.tir:1:13: error: unknown dtype 'f33'"))
    #expect(
      error("func @f(%x: f32[2,-1]) -> f32[2] {\n  return %x\n}")
        == "bad.tir:1:19: error: expected a non-negative dimension, found '-1'")
    #expect(error("func @f(%x: f32(2)) -> f32[2] {\n  return %x\n}") == "bad.tir:1:16: error: expected '[', found '('")
    #expect(
      error("func @f(%x: q4_0[7]) -> q4_0[7] {\n  return %x\n}").hasPrefix(
        "bad.tir:1:13: error: q4_0[7] is not storable"))
  }

  @Test func undefinedValue() {
    let message = error("func @f(%x: f32[2]) -> f32[2] {\n  %y = add %x, %z : f32[2]\n  return %y\n}")
    #expect(message == "bad.tir:2:16: error: use of undefined value %z")
    #expect(
      error("func @f(%x: f32[2]) -> f32[2] {\n  return %nope\n}") == "bad.tir:2:10: error: use of undefined value %nope"
    )
  }

  @Test func wrongOperandCount() {
    let message = error("func @f(%x: f32[2]) -> f32[2] {\n  %y = add %x : f32[2]\n  return %y\n}")
    #expect(message == "bad.tir:2:8: error: add: expected 2 operands, found 1")
    #expect(
      error("func @f(%x: f32[2]) -> f32[2] {\n  %y = exp %x, %x : f32[2]\n  return %y\n}")
        == "bad.tir:2:8: error: exp: expected 1 operand, found 2")
  }

  @Test func truncatedFile() {
    #expect(
      error("func @f(%x: f32[2]) -> f32[2] {\n  %y = neg %x : f32[2]\n")
        == "bad.tir:3:1: error: expected a statement or 'return', found end of file")
    #expect(
      error("func @f(%x: f32[2]) -> f32[2] {\n  return %x\n") == "bad.tir:3:1: error: expected '}', found end of file")
    #expect(error("func @f(%x: f32[") == "bad.tir:1:17: error: expected a non-negative dimension, found end of file")
    #expect(error("") == "bad.tir:1:1: error: expected 'func', found end of file")
  }

  @Test func typeDisagreesWithInference() {
    let message = error(
      "func @f(%a: f32[4,8], %b: f32[8,3]) -> f32[4,4] {\n  %y = matmul %a, %b : f32[4,4]\n  return %y\n}")
    #expect(message == "bad.tir:2:8: error: matmul: declared type f32[4,4] differs from inferred f32[4,3]")
  }

  @Test func invalidOperandsExplainWhy() {
    let message = error(
      "func @f(%a: f32[4,8], %b: f32[7,3]) -> f32[4,3] {\n  %y = matmul %a, %b : f32[4,3]\n  return %y\n}")
    #expect(message == "bad.tir:2:8: error: matmul: contraction dims differ: f32[4,8] has 8, f32[7,3] has 7")
    let attribute = error("func @f(%a: f32[4]) -> f32[] {\n  %y = reduce_sum %a {axis = 0} : f32[]\n  return %y\n}")
    #expect(attribute == "bad.tir:2:8: error: reduce_sum: unknown attribute 'axis' (reduce_sum takes: axes, keepdims)")
  }

  @Test func duplicateNamesAndSignatureMismatch() {
    #expect(
      error("func @f(%x: f32[2]) -> f32[2] {\n  %x = neg %x : f32[2]\n  return %x\n}")
        == "bad.tir:2:3: error: %x is already defined")
    #expect(
      error("func @f(%x: f32[2]) -> i32[2] {\n  return %x\n}")
        == "bad.tir:2:3: error: return gives (f32[2]) but the signature declares (i32[2])")
  }

  @Test func badLiterals() {
    #expect(
      error("func @f() -> f32[3] {\n  %c = constant [1.0, 2.0] : f32[3]\n  return %c\n}")
        == "bad.tir:2:17: error: the literal has 2 values but f32[3] holds 3")
    #expect(
      error("func @f() -> f32[1] {\n  %c = constant 1.0x : f32[1]\n  return %c\n}")
        == "bad.tir:2:17: error: expected a number, found '1.0x'")
    #expect(
      error("func @f() -> f32[1] {\n  %c = constant 0x123 : f32[1]\n  return %c\n}")
        == "bad.tir:2:17: error: expected an even number of hex digits after '0x', found '0x123'")
  }

  @Test func strayCharacters() {
    #expect(error("func @f(%x: f32[2]) -> f32[2] { # \n}") == "bad.tir:1:33: error: expected a token, found '#'")
  }
}
