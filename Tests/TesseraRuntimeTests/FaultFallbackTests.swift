import Synchronization
import Tessera
import TesseraTestSupport
import Testing

/// `FallbackDevice` redoes on a second device what an injected fault made the first one fail,
/// and the results are the reference evaluator's.
@Suite("Fault injection: falling back to another device")
struct FaultFallbackTests {
  private let graph = FaultTesting.graph

  /// The first usable device of `kind` in a registry whose devices inject `spec`, or `nil`;
  /// OpenCL programs are cached in memory only.
  private static func device(_ kind: DeviceKind, _ spec: String) throws -> (any Device)? {
    let faults = try FaultInjection(parsing: spec)
    let providers: [any DeviceProvider] =
      switch kind {
      case .opencl: [OpenCLProvider(options: options, hostRunner: CPUKernelRunner(), faults: faults)]
      case .vulkan: [VulkanProvider(options: options, host: CPUKernelRunner(), faults: faults)]
      default: [CPUProvider(library: StandardKernelLibrary(), faults: faults)]
      }
    let device = DeviceRegistry(providers: providers).availableDevices.first
    return try (device as? OpenCLDevice)?.configured(cacheDirectory: .some(nil)) ?? device
  }

  private static let options = CompileOptions(
    passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: StandardKernelLibrary())

  /// Why a backend's cases are skipped, or `nil` when it has a usable device.
  private static func skipReason(_ kind: DeviceKind) -> String? {
    let entries = DeviceRegistry.standard().entries.filter { $0.info.kind == kind }
    guard !entries.contains(where: { $0.info.availability.isAvailable }) else { return nil }
    return "no usable \(kind) device ("
      + entries.map { "\($0.info.name): \($0.info.availability)" }.joined(separator: "; ") + ")"
  }

  private static let openCLSkip = skipReason(.opencl)
  private static let vulkanSkip = skipReason(.vulkan)

  /// Runs the graph twice on `primary` with `fallback` behind it; checks both runs against the
  /// reference and returns the moves the device reported.
  private func runWithFallback(_ primary: any Device, _ fallback: any Device) throws -> [FallbackEvent] {
    let reported = ReportLog()
    let device = FallbackDevice(primary: primary, fallback: fallback) { reported.append($0) }
    let compiled = try device.compile(graph)
    #expect(try FaultTesting.matchReference(compiled.run(inputs: FaultTesting.inputs)))
    #expect(try FaultTesting.matchReference(compiled.run(inputs: FaultTesting.inputs)), "a second run")
    #expect(reported.events == device.events, "every move is reported as it happens")
    return device.events
  }

  /// Checks that `events` is one move of `stage` from `device` to `fallback` for an error `check` accepts.
  private func expectOneMove(
    _ events: [FallbackEvent], _ stage: FallbackEvent.Stage, from device: String, to fallback: String,
    _ check: (DeviceError) -> Bool
  ) {
    #expect(events.count == 1, "later runs go to the fallback at once: \(events)")
    guard let event = events.first else { return }
    #expect(event.stage == stage && event.device == device && event.fallback == fallback && event.graph == "faulty")
    #expect(check(event.error), "\(event.error)")
    let verb = stage == .compile ? "compiling" : "running"
    #expect(event.description.hasSuffix("; \(verb) it on \(fallback) instead"))
    #expect(event.description.hasPrefix("\(device) could not \(stage.rawValue) @faulty: \(event.error)"))
  }

  @Test(
    "OpenCL falls back to cpu", .enabled(if: openCLSkip == nil, Comment(rawValue: openCLSkip ?? "")),
    arguments: FaultKind.allCases)
  func openCL(kind: FaultKind) throws {
    let primary = try #require(try Self.device(.opencl, "\(kind.rawValue):opencl"))
    let events = try runWithFallback(primary, CPUDevice(library: StandardKernelLibrary()))
    expectOneMove(events, kind == .timeout ? .run : .compile, from: primary.info.name, to: "cpu") { error in
      switch (kind, error) {
      case (.alloc, .allocationFailed(primary.info.name, "the arena", _, _)): true
      case (.build, .compileFailed(primary.info.name, let message)):
        message.contains("injected fault build:opencl hit k")
      case (.timeout, .timeout(primary.info.name, let kernels, _)): !kernels.isEmpty
      default: false
      }
    }
  }

  @Test(
    "Vulkan falls back to cpu", .enabled(if: vulkanSkip == nil, Comment(rawValue: vulkanSkip ?? "")),
    arguments: FaultKind.allCases)
  func vulkan(kind: FaultKind) throws {
    let primary = try #require(try Self.device(.vulkan, "\(kind.rawValue):vulkan"))
    let events = try runWithFallback(primary, CPUDevice(library: StandardKernelLibrary()))
    expectOneMove(events, kind == .timeout ? .run : .compile, from: primary.info.name, to: "cpu") { error in
      switch (kind, error) {
      case (.alloc, .allocationFailed(primary.info.name, "the arena", _, _)): true
      case (.build, .compileFailed(primary.info.name, let message)): message.contains("vkCreateComputePipelines failed")
      case (.timeout, .timeout(primary.info.name, let kernels, _)): !kernels.isEmpty
      default: false
      }
    }
  }

  @Test("cpu falls back to the reference", arguments: ["b", "arena"])
  func cpu(buffer: String) throws {
    let primary = try #require(try Self.device(.cpu, "alloc:cpu:buffer=\(buffer)"))
    let events = try runWithFallback(primary, ReferenceDevice())
    let name = buffer == "arena" ? "the arena" : "%" + buffer
    expectOneMove(events, buffer == "b" ? .compile : .run, from: "cpu", to: "reference") { error in
      error
        == .allocationFailed(
          device: "cpu", buffer: name, bytes: error.bytes,
          message: "injected fault alloc:cpu:buffer=\(buffer) hit \(name)")
    }
  }

  @Test func aHealthyDeviceNeverFallsBack() throws {
    let primary = try #require(try Self.device(.cpu, "alloc:cpu:buffer=nothing"))
    #expect(try runWithFallback(primary, ReferenceDevice()).isEmpty)
  }

  @Test func mistakesInTheRequestAreNotRetried() throws {
    let primary = try #require(try Self.device(.cpu, "alloc:cpu:buffer=arena"))
    let device = FallbackDevice(primary: primary, fallback: ReferenceDevice())
    let compiled = try device.compile(graph)
    let wrong = [FaultTesting.inputs[1], FaultTesting.inputs[0]]
    #expect(throws: DeviceError.inputType(name: "x", expected: wrong[1].type, found: wrong[0].type)) {
      try compiled.run(inputs: wrong)
    }
    #expect(device.events.isEmpty)
  }

  @Test func whenTheFallbackFailsTooItsErrorIsThrown() throws {
    let primary = try #require(try Self.device(.cpu, "alloc:cpu:buffer=arena"))
    let spare = try #require(try Self.device(.cpu, "alloc:cpu:buffer=b"))
    let device = FallbackDevice(primary: primary, fallback: spare)
    let compiled = try device.compile(graph)
    let spareError = DeviceError.allocationFailed(
      device: "cpu", buffer: "%b", bytes: 24, message: "injected fault alloc:cpu:buffer=b hit %b")
    #expect(throws: spareError) { try compiled.run(inputs: FaultTesting.inputs) }
    #expect(device.events.map(\.stage) == [.run])
    guard case .allocationFailed("cpu", "the arena", _, _)? = device.events.first?.error else {
      Issue.record("the move was not for the arena: \(device.events)")
      return
    }
  }
}

/// Events collected by a report callback, which may run on any thread.
private final class ReportLog: Sendable {
  private let log = Mutex<[FallbackEvent]>([])
  func append(_ event: FallbackEvent) { log.withLock { $0.append(event) } }
  var events: [FallbackEvent] { log.withLock { $0 } }
}

extension DeviceError {
  /// The byte count of an allocation failure (0 for any other error).
  fileprivate var bytes: Int {
    if case .allocationFailed(_, _, let bytes, _) = self { return bytes }
    return 0
  }
}
