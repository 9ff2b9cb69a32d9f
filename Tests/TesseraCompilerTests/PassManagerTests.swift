import TesseraCompiler
import TesseraIR
import TesseraTestSupport
import Testing

@Suite("Pass manager and dead-code elimination")
struct PassManagerTests {
  @Test func deadCodeEliminationDropsUnusedNodesOnly() throws {
    let before = try TestSupport.parseOne(
      """
      func @f(%x: f32[4]) -> f32[4] {
        %unused = exp %x : f32[4]
        %alsoUnused = neg %unused : f32[4]
        %y = relu %x : f32[4]
        %z = add %y, %x : f32[4]
        return %z
      }
      """)
    let after = try PassManager([DeadCodeElimination()]).run(before)
    let expected = try TestSupport.parseOne(
      """
      func @f(%x: f32[4]) -> f32[4] {
        %y = relu %x : f32[4]
        %z = add %y, %x : f32[4]
        return %z
      }
      """)
    #expect(Printer.print(after) == Printer.print(expected))
  }

  @Test func printAfterEachPassReportsEveryPass() throws {
    let graph = try TestSupport.parseOne("func @f(%x: f32[2]) -> f32[2] {\n  %d = exp %x : f32[2]\n  return %x\n}")
    var seen: [(String, Int)] = []
    _ = try PassManager([DeadCodeElimination(), DeadCodeElimination()]).run(graph) { seen.append(($0, $1.nodes.count)) }
    #expect(seen.map(\.0) == ["dce", "dce"])
    #expect(seen.map(\.1) == [0, 0])
  }

  /// A deliberately wrong pass: it removes every node, leaving results undefined.
  private struct DropEverything: GraphPass {
    let name = "drop-everything"
    func run(_ graph: Graph) -> Graph {
      var broken = graph
      broken.nodes = []
      return broken
    }
  }

  @Test func aPassThatBreaksTheGraphIsNamed() throws {
    let graph = try TestSupport.parseOne("func @f(%x: f32[2]) -> f32[2] {\n  %y = exp %x : f32[2]\n  return %y\n}")
    #expect(throws: CompileError.self) { try PassManager([DropEverything()]).run(graph) }
    do {
      _ = try PassManager([DropEverything()]).run(graph)
    } catch {
      #expect(error.description.contains("pass 'drop-everything' produced an invalid graph"))
    }
  }
}
