import TesseraIR
import Testing

/// Inputs that once trapped the `.tir` lexer or parser (found by `make fuzz` or while writing its
/// targets); each must now be a clean ``IRError``.
@Suite("Parser: inputs that once trapped")
struct ParserFuzzRegressionTests {
  private func message(_ text: String) -> String? {
    do {
      _ = try Parser.parse(text, file: "fuzz.tir")
      return nil
    } catch {
      return error.description
    }
  }

  @Test func elementCountThatOverflows() {
    let text = "func @f(%x: f32[9999999999,9999999999]) -> f32[1] {\n  return %x\n}\n"
    #expect(message(text) == "fuzz.tir:1:13: error: the element count of f32[9999999999, 9999999999] overflows")
  }

  @Test func fullwidthHexDigits() {
    let text = "func @f() -> q8_0[32] {\n  %c = constant 0x\u{FF21}\u{FF21} : q8_0[32]\n  return %c\n}\n"
    #expect(message(text)?.contains("expected an even number of hex digits after '0x'") == true)
  }
}
