import TesseraIR
import TesseraTestSupport
import Testing

/// ``Graph/widenedSixteenBitOperand(of:)``: the operand of a `cast` from f16 or bf16 to f32, and
/// nothing else.
@Suite struct WideningTests {
  @Test(
    "a cast to f32 widens f16 and bf16 operands only",
    arguments: [("f16", "f32", true), ("bf16", "f32", true), ("f32", "f16", false), ("i32", "f32", false)])
  func widening(source: String, target: String, widens: Bool) throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%w: \(source)[2,3]) -> \(target)[2,3] {
        %c = cast %w {to = \(target)} : \(target)[2,3]
        return %c
      }
      """)
    #expect(graph.widenedSixteenBitOperand(of: graph.nodes[0]) == (widens ? graph.arguments[0] : nil))
  }

  @Test func anotherOpWidensNothing() throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%w: f16[2,3]) -> f16[2,3] {
        %n = neg %w : f16[2,3]
        return %n
      }
      """)
    #expect(graph.widenedSixteenBitOperand(of: graph.nodes[0]) == nil)
  }
}
