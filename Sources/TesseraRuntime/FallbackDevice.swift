import TesseraIR

/// A device that does its work on `primary` and, when `primary` fails (``DeviceError/isDeviceFailure``:
/// it cannot compile a graph, allocate, build a kernel, or finish a run), redoes that work on
/// `fallback`, reporting each move as a ``FallbackEvent``.
///
/// A graph `primary` cannot compile is compiled on `fallback`. A run that fails on `primary` is
/// redone on `fallback`, which compiles the graph then (once); later runs of that compiled graph go
/// to `fallback` directly. Errors in the request itself (wrong inputs) are not retried.
public final class FallbackDevice: Device {
  /// The device that is tried first.
  public let primary: any Device
  /// The device that redoes what `primary` failed.
  public let fallback: any Device
  private let report: @Sendable (FallbackEvent) -> Void
  private let log = Locked<[FallbackEvent]>([])

  /// Wraps `primary` with `fallback`; `report` is called on every move to `fallback` (to print a
  /// warning, say), from the thread that hit the failure.
  public init(primary: any Device, fallback: any Device, report: @escaping @Sendable (FallbackEvent) -> Void = { _ in })
  {
    self.primary = primary
    self.fallback = fallback
    self.report = report
  }

  /// The primary device's description.
  public var info: DeviceInfo { primary.info }

  /// The primary device's store: tensors live there; a run moved to `fallback` reads them back.
  public var store: any TensorStore { primary.store }

  /// Every move to `fallback` so far, in order.
  public var events: [FallbackEvent] { log.withLock { $0 } }

  /// Compiles on `primary`; on a device failure, reports it and compiles on `fallback`.
  public func compile(_ graph: Graph) throws(DeviceError) -> CompiledGraph {
    let compiled: CompiledGraph
    do throws(DeviceError) {
      compiled = try primary.compile(graph)
    } catch  where error.isDeviceFailure {
      record(
        FallbackEvent(
          stage: .compile, graph: graph.name, device: primary.info.name, fallback: fallback.info.name, error: error))
      return try fallback.compile(graph)
    }
    return CompiledGraph(
      graph: graph, deviceName: compiled.deviceName, executable: FallbackExecutable(compiled, on: self))
  }

  /// Logs `event` and passes it to the report callback.
  func record(_ event: FallbackEvent) {
    log.withLock { $0.append(event) }
    report(event)
  }
}

/// A graph compiled on a ``FallbackDevice``'s primary that moves to its fallback on the first
/// run the primary fails, and stays there.
final class FallbackExecutable: GraphExecutable {
  private let primary: CompiledGraph
  private let device: FallbackDevice
  /// The graph compiled on the fallback, once a run on the primary failed.
  private let replacement = Locked<CompiledGraph?>(nil)

  init(_ primary: CompiledGraph, on device: FallbackDevice) {
    self.primary = primary
    self.device = device
  }

  func execute(_ inputs: [TensorValue], profile: Bool) throws(DeviceError) -> GraphRun {
    if let replacement = replacement.withLock({ $0 }) { return try run(on: replacement, inputs) }
    do throws(DeviceError) {
      return try primary.execute(inputs, profile: profile)
    } catch  where error.isDeviceFailure {
      let compiled = try replacement.withLock { replacement throws(DeviceError) -> CompiledGraph in
        if let replacement { return replacement }
        device.record(
          FallbackEvent(
            stage: .run, graph: primary.graph.name, device: device.primary.info.name,
            fallback: device.fallback.info.name, error: error))
        let compiled = try device.fallback.compile(primary.graph)
        replacement = compiled
        return compiled
      }
      return try run(on: compiled, inputs)
    }
  }

  /// Runs on the fallback with device tensors read back, and in-place updates written to them.
  private func run(on fallback: CompiledGraph, _ inputs: [TensorValue]) throws(DeviceError) -> GraphRun {
    var traffic = Traffic()
    let graph = primary.graph
    let results = try fallback.run(inputs: try graph.hostInputs(inputs, traffic: &traffic))
    return GraphRun(results: try graph.writingUpdates(results, into: inputs, traffic: &traffic), traffic: traffic)
  }
}

/// One move of work from a ``FallbackDevice``'s primary to its fallback: where, and why.
public struct FallbackEvent: Hashable, Sendable, CustomStringConvertible {
  /// The step that failed on the primary device.
  public enum Stage: String, Hashable, Sendable {
    /// Compiling the graph.
    case compile
    /// Running the compiled graph.
    case run
  }

  /// The step that failed.
  public var stage: Stage
  /// The graph's name (without `@`).
  public var graph: String
  /// The primary device's name.
  public var device: String
  /// The fallback device's name.
  public var fallback: String
  /// What the primary device reported.
  public var error: DeviceError

  /// Creates an event.
  public init(stage: Stage, graph: String, device: String, fallback: String, error: DeviceError) {
    self.stage = stage
    self.graph = graph
    self.device = device
    self.fallback = fallback
    self.error = error
  }

  /// Says what failed, why, and where the work goes instead.
  public var description: String {
    "\(device) could not \(stage.rawValue) @\(graph): \(error); \(stage == .compile ? "compiling" : "running") it on \(fallback) instead"
  }
}
