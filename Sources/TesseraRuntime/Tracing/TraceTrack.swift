/// Where a trace event is drawn: a process (the host, or one device) and a thread within it (the
/// host's work, a device's kernels, one unit of the NPU). Chrome's trace format calls them pid
/// and tid; ``TraceRecorder`` numbers them in order of first use and names them with metadata
/// events.
public struct TraceTrack: Hashable, Sendable, CustomStringConvertible {
  /// The process: `host`, or a device's name (`cpu`, `opencl:0`, `npu`).
  public var process: String
  /// The thread: `main`, `kernels`, a unit's name.
  public var thread: String

  /// Creates a track.
  public init(process: String, thread: String) {
    self.process = process
    self.thread = thread
  }

  /// The host's own work: parsing, compiling, uploads, encoding, submissions, read-backs.
  public static let host = TraceTrack(process: "host", thread: "main")

  /// The kernels of `device`, each at its device time.
  public static func kernels(of device: String) -> TraceTrack {
    TraceTrack(process: device, thread: "kernels")
  }

  /// `process/thread`.
  public var description: String { "\(process)/\(thread)" }
}

/// One complete interval in a trace: a host span or a kernel's device time.
public struct TraceSpan: Hashable, Sendable {
  /// What ran.
  public var name: String
  /// Where it is drawn.
  public var track: TraceTrack
  /// Microseconds from the recorder's start.
  public var start: Double
  /// Microseconds it lasted (never negative).
  public var duration: Double
  /// Extra facts shown with the span (the device, bytes moved).
  public var arguments: [String: String]

  /// Creates a span.
  public init(name: String, track: TraceTrack, start: Double, duration: Double, arguments: [String: String] = [:]) {
    self.name = name
    self.track = track
    self.start = start
    self.duration = duration
    self.arguments = arguments
  }
}

/// An interval of device time within one submission, on a named thread of the device's track:
/// offsets and durations in seconds on the device's own clock (or cycle model), counted from the
/// submission's first work.
public struct DeviceInterval: Hashable, Sendable {
  /// What ran: a kernel, an instruction.
  public var name: String
  /// The device's thread it is drawn on (`kernels`, `cube`, `vector`…).
  public var thread: String
  /// Seconds from the submission's first work to this interval's start.
  public var offset: Double
  /// Seconds it lasted.
  public var seconds: Double

  /// Creates an interval.
  public init(name: String, thread: String, offset: Double, seconds: Double) {
    self.name = name
    self.thread = thread
    self.offset = offset
    self.seconds = seconds
  }
}
