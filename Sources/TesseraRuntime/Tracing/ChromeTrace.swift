extension TraceRecorder {
  /// The trace in Chrome's trace event format (`chrome://tracing`, ui.perfetto.dev): a
  /// `traceEvents` array of `M` events naming each process and thread, then one `X` (complete)
  /// event per span, in start order, with `ts` and `dur` in microseconds. Processes are numbered
  /// from 1 in order of first use (the host first), threads within each likewise.
  public func chromeTrace() -> String {
    let spans = spans.sorted { ($0.start, -$0.duration) < ($1.start, -$1.duration) }
    var processes: [String: Int] = ["host": 1]
    var threads: [TraceTrack: Int] = [:]
    var metadata: [String] = [Self.metadata("process_name", pid: 1, tid: nil, name: "host")]
    for span in spans where threads[span.track] == nil {
      let pid: Int
      if let known = processes[span.track.process] {
        pid = known
      } else {
        pid = processes.count + 1
        processes[span.track.process] = pid
        metadata.append(Self.metadata("process_name", pid: pid, tid: nil, name: span.track.process))
      }
      let tid = threads.keys.filter { $0.process == span.track.process }.count + 1
      threads[span.track] = tid
      metadata.append(Self.metadata("thread_name", pid: pid, tid: tid, name: span.track.thread))
    }
    let events = spans.map { span in
      var fields = [
        "\"name\":\(JSONText.string(span.name))", "\"ph\":\"X\"", "\"pid\":\(processes[span.track.process]!)",
        "\"tid\":\(threads[span.track]!)", "\"ts\":\(JSONText.number(span.start))",
        "\"dur\":\(JSONText.number(span.duration))",
      ]
      if !span.arguments.isEmpty {
        let arguments = span.arguments.sorted { $0.key < $1.key }.map {
          "\(JSONText.string($0)):\(JSONText.string($1))"
        }
        fields.append("\"args\":{\(arguments.joined(separator: ","))}")
      }
      return "{" + fields.joined(separator: ",") + "}"
    }
    return "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n" + (metadata + events).joined(separator: ",\n") + "\n]}\n"
  }

  private static func metadata(_ kind: String, pid: Int, tid: Int?, name: String) -> String {
    "{\"name\":\"\(kind)\",\"ph\":\"M\",\"pid\":\(pid),\"tid\":\(tid ?? 0),\"args\":{\"name\":\(JSONText.string(name))}}"
  }
}

/// JSON literals written by hand (the runtime does not need Foundation's encoder for this).
enum JSONText {
  /// `text` as a JSON string: quotes, backslashes and control characters escaped.
  static func string(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": result += "\\\""
      case "\\": result += "\\\\"
      case "\n": result += "\\n"
      case "\t": result += "\\t"
      case "\r": result += "\\r"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result + "\""
  }

  /// A finite number with three decimals (nanoseconds, for microsecond values); 0 otherwise.
  static func number(_ value: Double) -> String {
    guard value.isFinite else { return "0" }
    let thousandths = (value * 1000).rounded()
    let whole = Int(thousandths) / 1000, fraction = abs(Int(thousandths) % 1000)
    let sign = thousandths < 0 && whole == 0 ? "-" : ""
    let digits = String(fraction)
    return sign + String(whole) + "." + String(repeating: "0", count: 3 - digits.count) + digits
  }
}
