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
}
