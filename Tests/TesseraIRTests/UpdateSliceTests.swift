import TesseraIR
import TesseraTestSupport
import Testing

/// `update_slice`: its text form, its verifier rules and when it updates an argument in place.
@Suite struct UpdateSliceTests {
  @Test func roundTripsThroughText() throws {
    let text = """
      func @f(%c: f32[6,4], %u: f32[2,4], %p: i32[1]) -> f32[6,4] {
        %r = update_slice %c, %u, %p {axis = 0} : f32[6,4]
        return %r
      }
      """
    let graph = try TestSupport.parseOne(text)
    #expect(try TestSupport.parseOne(graph.description) == graph)
    #expect(graph.inPlaceUpdates == [0: 0])
  }

  @Test(
    "rejects updates that do not fit, and starts that are not one integer",
    arguments: [
      ("f32[6,4]", "f32[2,5]", "i32[1]", "does not fit"), ("f32[6,4]", "f32[7,4]", "i32[1]", "does not fit"),
      ("f32[6,4]", "f16[2,4]", "i32[1]", "f16"), ("f32[6,4]", "f32[2,4]", "f32[1]", "one integer"),
      ("f32[6,4]", "f32[2,4]", "i32[2]", "one integer"),
    ])
  func rejects(base: String, update: String, start: String, message: String) throws {
    let text = """
      func @f(%c: \(base), %u: \(update), %p: \(start)) -> \(base) {
        %r = update_slice %c, %u, %p : \(base)
        return %r
      }
      """
    #expect(performing: { try TestSupport.parseOne(text) }, throws: { "\($0)".contains(message) })
  }

  @Test func rangeProblemsNameTheRows() throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%c: f32[6,4], %u: f32[2,4], %p: i32[1]) -> f32[6,4] {
        %r = update_slice %c, %u, %p : f32[6,4]
        return %r
      }
      """)
    let node = graph.nodes[0]
    #expect(UpdateSlice.rangeProblem(node, in: graph, start: 4) == nil)
    #expect(UpdateSlice.rangeProblem(node, in: graph, start: 5) == "start 5 puts 2 rows outside 0..<6 along axis 0")
    #expect(UpdateSlice.rangeProblem(node, in: graph, start: -1) != nil)
  }

  @Test func validStartsAreTheStartsWithoutAProblem() throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%c: f32[3,6,4], %u: f32[3,2,4], %p: i32[1]) -> f32[3,6,4] {
        %r = update_slice %c, %u, %p {axis = 1} : f32[3,6,4]
        return %r
      }
      """)
    let node = graph.nodes[0]
    // Two rows fit in six at starts 0 through 4.
    #expect(UpdateSlice.validStarts(of: node, in: graph) == 0..<5)
    for start in -2...8 {
      #expect(
        UpdateSlice.validStarts(of: node, in: graph).contains(start)
          == (UpdateSlice.rangeProblem(node, in: graph, start: start) == nil), "start \(start)")
    }
  }
}
