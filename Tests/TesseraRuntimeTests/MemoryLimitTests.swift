import Tessera
import TesseraTestSupport
import Testing

/// A graph whose memory plan exceeds what a device reports is refused before any allocation.
@Suite("Memory limits")
struct MemoryLimitTests {
  private static let registry = DeviceRegistry.standard()
  private static let withMemory = registry.availableDevices.filter { $0.info.memoryBytes != nil }.map(\.info.name)

  @Test("a plan larger than the device's memory", arguments: withMemory)
  func planLargerThanTheDevice(device name: String) throws {
    let device = try Self.registry.device(named: name)
    let available = try #require(device.info.memoryBytes)
    let elements = available / 4 + 1  // the input alone is larger than the device
    let graph = try TestSupport.parseOne(
      "func @f(%x: f32[\(elements)]) -> f32[\(elements)] {\n  %y = exp %x : f32[\(elements)]\n  return %y\n}\n")
    do {
      _ = try device.compile(graph)
      Issue.record("\(name) compiled a graph larger than its memory")
    } catch .outOfMemory(let reported, let needed, let memory) {
      #expect(reported == name && memory == available && needed >= 2 * elements * 4)
    } catch {
      Issue.record("expected outOfMemory, got \(error)")
    }
  }
}
