import TesseraCompiler
import TesseraIR
import TesseraTestSupport
import Testing

@Suite("Graph rewriting helpers")
struct GraphRewritingTests {
  @Test func replacingUsesRewritesOperandsAndResults() throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[2]) -> (f32[2], f32[2]) {
        %a = exp %x : f32[2]
        %b = neg %a : f32[2]
        %c = add %a, %b : f32[2]
        return %c, %a
      }
      """)
    let a = graph.nodes[0].result
    let rewritten = graph.replacingUses(of: a, with: graph.arguments[0])
    let expected = try PassTesting.canonical(
      """
      func @f(%x: f32[2]) -> (f32[2], f32[2]) {
        %a = exp %x : f32[2]
        %b = neg %x : f32[2]
        %c = add %x, %b : f32[2]
        return %c, %x
      }
      """)
    #expect(Printer.print(rewritten) == expected)
  }
}
