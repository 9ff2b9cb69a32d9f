import Tessera
import TesseraTestSupport
import Testing

/// Seeded random graphs on every usable device agree with the reference evaluator
/// (`tessera-difftest` runs more: `make difftest N=…`).
@Suite("Differential: random graphs on every device against the reference")
struct DifferentialDeviceTests {
  private static let registry = DeviceRegistry.standard()
  private static let deviceNames = registry.availableDevices.map(\.info.name).filter { $0 != "reference" }

  @Test("100 random graphs", arguments: deviceNames)
  func randomGraphsAgree(device name: String) throws {
    let runner = DifferentialRunner(devices: [try Self.registry.device(named: name)])
    for seed in UInt64(0)..<100 {
      for mismatch in try runner.check(seed: seed) { Issue.record("\(mismatch)") }
    }
  }

  @Test func aMismatchIsMinimisedToTheOpAtFault() throws {
    let device = ExpIsOff()
    let runner = DifferentialRunner(devices: [device])
    let seed = try #require(
      (UInt64(0)..<200).first { seed in
        var generator = RandomGraphGenerator(seed: seed)
        guard let graph = try? generator.makeGraph() else { return false }
        return graph.nodes.count > 6 && ExpIsOff.affects(graph)
      })
    let mismatch = try #require(try runner.check(seed: seed).first)
    #expect(mismatch.graph.nodes.map(\.kind) == [.exp], "\(mismatch)")
    #expect(mismatch.message.hasPrefix("result 0 differs by"))
    let directory = TestSupport.temporaryDirectory("difftest")
    let command = try mismatch.write(to: directory)
    let replayed = try TestSupport.parseOne(String(contentsOfFile: directory + "/graph.tir", encoding: .utf8))
    #expect(replayed == mismatch.graph)
    #expect(command.hasPrefix("tessera run \(directory)/graph.tir --device exp-is-off --input "))
  }
}

/// A device that computes like the reference but adds 1 to every result of a graph with an `exp`.
private final class ExpIsOff: Device {
  let info = DeviceInfo(
    name: "exp-is-off", kind: .cpu, summary: "test double", driver: "built in", availability: .available)
  private let reference = ReferenceDevice()
  var store: any TensorStore { reference.store }

  static func affects(_ graph: Graph) -> Bool { graph.nodes.contains { $0.kind == .exp } }

  func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph {
    CompiledGraph(graph: graph, deviceName: info.name, executable: Wrong(graph: graph, reference: reference))
  }

  private struct Wrong: HostGraphExecutable {
    let graph: Graph
    let reference: ReferenceDevice

    func execute(_ inputs: [Tensor]) throws(DeviceError) -> [Tensor] {
      let results = try reference.compile(graph).run(inputs: inputs)
      guard ExpIsOff.affects(graph) else { return results }
      return results.map { $0.dtype == .f32 ? Tensor($0.doubles.map { $0 + 1 }, shape: $0.shape) : $0 }
    }
  }
}
