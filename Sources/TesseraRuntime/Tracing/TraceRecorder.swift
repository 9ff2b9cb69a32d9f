import TesseraCompiler

/// Records what a program does over time — host spans and every kernel's device time — for one
/// Chrome/Perfetto trace (``chromeTrace()``), the same way on every device.
///
/// Nothing is recorded unless a recorder is current: ``recording(_:)`` binds it (a task-local
/// value, also the compiler's ``CompilePhaseObserver``) while its body runs; without one,
/// ``span(_:arguments:_:)`` costs one task-local read. Host spans are timed on the monotonic
/// `ContinuousClock` from the recorder's creation. Device times come from the devices' own
/// measurements (`cpu` kernel timers, OpenCL profiling events, Vulkan timestamps, the NPU's cycle
/// model) and are drawn from the host moment their submission began: their gaps are the
/// device's, their position on the host clock is approximate. Events on one device thread never
/// overlap (a later one starts no earlier than the previous one ends).
public final class TraceRecorder: CompilePhaseObserver {
  /// The recorder of the current task or thread, if any.
  @TaskLocal public static var current: TraceRecorder?

  private struct State {
    var spans: [TraceSpan] = []
    /// Where each device thread's last event ended, in microseconds.
    var deviceEnds: [TraceTrack: Double] = [:]
  }

  private let origin = ContinuousClock.now
  private let state = Locked(State())

  /// A recorder whose clock starts now.
  public init() {}

  /// Runs `body` with this recorder current, for the program and for the compiler.
  public func recording<Result>(_ body: () throws -> Result) rethrows -> Result {
    try Self.$current.withValue(self) {
      try CompileInstrumentation.$observer.withValue(self, operation: body)
    }
  }

  /// Microseconds since the recorder was created.
  public func now() -> Double {
    let elapsed = origin.duration(to: .now).components
    return Double(elapsed.seconds) * 1e6 + Double(elapsed.attoseconds) * 1e-12
  }

  /// Every span recorded so far, in the order they ended.
  public var spans: [TraceSpan] { state.withLock { $0.spans } }

  /// Adds a span.
  public func record(_ span: TraceSpan) {
    state.withLock { $0.spans.append(span) }
  }

  /// Runs `body` and records it as a host span called `name` (errors are recorded too).
  public func span<Result, Failure: Error>(
    _ name: String, arguments: [String: String] = [:], _ body: () throws(Failure) -> Result
  ) throws(Failure) -> Result {
    let start = now()
    defer { record(TraceSpan(name: name, track: .host, start: start, duration: now() - start, arguments: arguments)) }
    return try body()
  }

  /// Runs `body`, recorded as a host span called `name` when a recorder is current. The name and
  /// arguments are built only then: a run's spans cost nothing but the task-local read without one.
  public static func span<Result, Failure: Error>(
    _ name: @autoclosure () -> String, arguments: @autoclosure () -> [String: String] = [:],
    _ body: () throws(Failure) -> Result
  ) throws(Failure) -> Result {
    guard let current else { return try body() }
    return try current.span(name(), arguments: arguments(), body)
  }

  /// A compile phase, as a host span.
  public func phase<Result, Failure: Error>(_ name: String, _ body: () throws(Failure) -> Result) throws(Failure)
    -> Result
  {
    try span(name, body)
  }

  /// Records `intervals` of `device`'s time, drawn from `anchor` (the microsecond on this clock
  /// when their submission began), each on its thread of the device's track, none before the
  /// previous event of that thread ends.
  public func recordDevice(_ intervals: [DeviceInterval], device: String, anchor: Double) {
    state.withLock { state in
      for interval in intervals {
        let track = TraceTrack(process: device, thread: interval.thread)
        let start = Swift.max(anchor + interval.offset * 1e6, state.deviceEnds[track] ?? 0)
        let duration = Swift.max(0, interval.seconds * 1e6)
        state.deviceEnds[track] = start + duration
        state.spans.append(TraceSpan(name: interval.name, track: track, start: start, duration: duration))
      }
    }
  }

  /// Records the kernels of one submission on `device`'s `kernels` thread: at the offsets the
  /// device gave (``KernelTiming/start``), else each right after the one before.
  public func recordKernels(_ timings: [KernelTiming], device: String, anchor: Double) {
    var next = 0.0
    let intervals = timings.map { timing in
      let offset = timing.start ?? next
      next = offset + timing.seconds
      return DeviceInterval(name: timing.kernel, thread: "kernels", offset: offset, seconds: timing.seconds)
    }
    recordDevice(intervals, device: device, anchor: anchor)
  }
}
