import Tessera
import TesseraTestSupport
import Testing

@Suite("Device registry and compiled graphs")
struct RegistryTests {
  private let graph: Graph = {
    let b = GraphBuilder(name: "f")
    let x = b.argument("x", .f32, [2])
    let y = b.argument("y", .i32, [])
    return try! b.finish(returning: [b.exp(x), y])
  }()

  @Test func standardRegistryListsEveryBackendWithoutCrashing() throws {
    let registry = DeviceRegistry.standard()
    let kinds = Set(registry.entries.map(\.info.kind))
    #expect(kinds.isSuperset(of: [.reference, .opencl, .vulkan]))
    for entry in registry.entries {
      if case .unavailable(let reason) = entry.info.availability {
        #expect(!reason.isEmpty)
        #expect(entry.device == nil)
      }
    }
    #expect(try registry.device(named: "reference").info.kind == .reference)
  }

  @Test func unknownAndUnavailableDevicesAreExplained() {
    let registry = DeviceRegistry.standard()
    #expect(throws: DeviceError.unknownDevice(name: "tpu", known: registry.entries.map(\.info.name))) {
      try registry.device(named: "tpu")
    }
    guard let unusable = registry.entries.first(where: { !$0.info.availability.isAvailable }) else { return }
    do {
      _ = try registry.device(named: unusable.info.name)
      Issue.record("expected \(unusable.info.name) to be unavailable")
    } catch {
      #expect(error.description.hasPrefix("device '\(unusable.info.name)' is unavailable: "))
    }
  }

  /// A provider of one kind that counts how often it is asked to discover.
  private final class CountingProvider: DeviceProvider, @unchecked Sendable {
    let kind: DeviceKind?
    private(set) var discoveries = 0
    init(kind: DeviceKind?) { self.kind = kind }
    func discover() -> [DeviceEntry] {
      discoveries += 1
      return [DeviceEntry(device: ReferenceDevice())]
    }
  }

  @Test("a lookup discovers only the providers of the kind it names, each once")
  func discoveryIsLazyByKind() throws {
    let opencl = CountingProvider(kind: .opencl), anyKind = CountingProvider(kind: nil)
    let registry = DeviceRegistry(providers: [ReferenceProvider(), opencl, anyKind])
    #expect(try registry.device(named: "reference").info.name == "reference")
    #expect(opencl.discoveries == 0, "looking up the reference device opened no OpenCL driver")
    #expect(anyKind.discoveries == 1, "a provider of no declared kind is asked for every lookup")
    _ = try registry.device(named: "reference")
    #expect(opencl.discoveries == 0 && anyKind.discoveries == 1, "discovered once")
    #expect(registry.entries.count == 3)
    #expect(opencl.discoveries == 1)
    _ = registry.availableDevices
    #expect(opencl.discoveries == 1 && anyKind.discoveries == 1)
  }

  @Test func bareKindNamesMeanTheFirstDevice() throws {
    let registry = DeviceRegistry(providers: [ReferenceProvider()])
    #expect(throws: DeviceError.self) { try registry.device(named: "refer") }
    #expect(try registry.device(named: "reference").info.name == "reference")
  }

  @Test func inputsAreCheckedByNameCountAndType() throws {
    let compiled = try ReferenceDevice().compile(graph)
    let x = Tensor([0, 1], shape: [2])
    let y = Tensor([4], shape: [], dtype: .i32)
    #expect(throws: DeviceError.inputCount(expected: 2, found: 1)) { try compiled.run(inputs: [x]) }
    #expect(throws: DeviceError.missingInput(name: "y")) { try compiled.run(inputs: ["x": x]) }
    #expect(throws: DeviceError.unexpectedInput(name: "z", expected: ["x", "y"])) {
      try compiled.run(inputs: ["x": x, "y": y, "z": y])
    }
    #expect(throws: DeviceError.inputType(name: "y", expected: TensorType(.i32, []), found: TensorType(.f32, [2]))) {
      try compiled.run(inputs: ["x": x, "y": x])
    }
    let results = try compiled.run(inputs: ["y": y, "x": x])
    #expect(results[0].floats == [1, Float(2.7182817)])
    #expect(results[1] == y)
  }

  @Test func seededRandomIsReproducible() {
    var a = SeededRandom(seed: 42), b = SeededRandom(seed: 42), c = SeededRandom(seed: 43)
    let type = TensorType(.f32, [16])
    let first = Tensor.random(type, using: &a)
    #expect(first == Tensor.random(type, using: &b))
    #expect(first != Tensor.random(type, using: &c))
    #expect(first.doubles.allSatisfy { (-1..<1).contains($0) })
  }
}
