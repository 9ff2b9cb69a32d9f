import Foundation

/// A Chrome trace read back with Foundation's JSON parser and checked against the format: for
/// tests of `TraceRecorder` and of `--trace`.
public struct ChromeTraceCheck {
  /// One `X` event.
  public struct Span {
    /// Its name.
    public var name: String
    /// The process and thread names of its track.
    public var process: String, thread: String
    /// Microseconds.
    public var start: Double, duration: Double
    /// Where it ends.
    public var end: Double { start + duration }
  }

  /// The complete events, in file order.
  public private(set) var spans: [Span] = []
  /// What is wrong with the trace (empty when it is well formed).
  public private(set) var problems: [String] = []

  /// Parses `text`; problems are collected, not thrown.
  public init(_ text: String) {
    guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
      let events = object["traceEvents"] as? [[String: Any]]
    else {
      problems.append("not a JSON object with a traceEvents array")
      return
    }
    var processes: [Int: String] = [:]
    var threads: [[Int]: String] = [:]
    var complete: [(name: String, pid: Int, tid: Int, ts: Double, dur: Double)] = []
    for event in events {
      guard let name = event["name"] as? String, let phase = event["ph"] as? String, let pid = event["pid"] as? Int,
        let tid = event["tid"] as? Int
      else {
        problems.append("event without name, ph, pid or tid: \(event)")
        continue
      }
      switch phase {
      case "M":
        guard let label = (event["args"] as? [String: Any])?["name"] as? String else {
          problems.append("metadata event \(name) without args.name")
          continue
        }
        if name == "process_name" {
          processes[pid] = label
        } else if name == "thread_name" {
          threads[[pid, tid]] = label
        }
      case "X":
        guard let ts = event["ts"] as? Double, let dur = event["dur"] as? Double else {
          problems.append("complete event \(name) without ts or dur")
          continue
        }
        if ts < 0 || dur < 0 { problems.append("\(name): negative ts \(ts) or dur \(dur)") }
        complete.append((name, pid, tid, ts, dur))
      default: problems.append("unexpected phase \(phase) of \(name)")
      }
    }
    for event in complete {
      guard let process = processes[event.pid], let thread = threads[[event.pid, event.tid]] else {
        problems.append("\(event.name): pid \(event.pid) tid \(event.tid) is not named by M events")
        continue
      }
      spans.append(Span(name: event.name, process: process, thread: thread, start: event.ts, duration: event.dur))
    }
    checkOrder()
  }

  /// The spans of one track, in file order.
  public func spans(process: String, thread: String) -> [Span] {
    spans.filter { $0.process == process && $0.thread == thread }
  }

  /// Each track's spans come in start order and either nest in or follow each other (the
  /// trace's times have a resolution of a nanosecond).
  private mutating func checkOrder() {
    let tracks = Set(spans.map { [$0.process, $0.thread] })
    for track in tracks {
      var open: [Span] = []
      var previous: Span?
      for span in spans(process: track[0], thread: track[1]) {
        if let previous, span.start < previous.start {
          problems.append("\(track): \(span.name) starts before \(previous.name)")
        }
        previous = span
        while let last = open.last, last.end <= span.start + 0.001 { open.removeLast() }
        if let last = open.last, span.end > last.end + 0.001 {
          problems.append("\(track): \(span.name) overlaps \(last.name) without nesting in it")
        }
        open.append(span)
      }
    }
  }
}
