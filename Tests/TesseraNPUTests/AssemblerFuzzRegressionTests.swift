import TesseraNPU
import Testing

/// Assembly that once trapped the assembler (found by `make fuzz` or while writing its targets);
/// each must now be a clean ``NPUError``.
@Suite("NPU assembler: inputs that once trapped")
struct AssemblerFuzzRegressionTests {
  @Test(arguments: ["li x1, --9223372036854775808", "li x1, -0x-8000000000000000"])
  func negatingTheSmallestInteger(source: String) {
    #expect(throws: NPUError.self) { try Assembler.assemble(source) }
  }

  /// Found by `make fuzz` (npuasm, 150 s): a mnemonic of dots only has no parts.
  @Test func mnemonicOfDotsOnly() {
    #expect(throws: NPUError.assembly(line: 1, column: 1, message: "unknown instruction '.'")) {
      try Assembler.assemble(". ei@n \u{FFFD}/;")
    }
  }
}
