import Foundation

/// One interval of a unit's activity, for the trace.
public struct TraceEvent: Hashable, Sendable {
  /// The unit.
  public var unit: NPUUnit
  /// The instruction as assembly.
  public var name: String
  /// First and last cycle (exclusive).
  public var start: Int, end: Int
}

/// What the cycle model measured for one or more programs.
public struct CycleReport: Hashable, Sendable {
  /// The configuration the cycles were counted with.
  public var config: NPUConfig
  /// Cycles from the first fetch until every unit is idle.
  public var cycles = 0
  /// Cycles each unit was occupied.
  public var busy: [NPUUnit: Int] = [:]
  /// Instructions each unit executed.
  public var instructions: [NPUUnit: Int] = [:]
  /// Bytes read from the source memory of each DMA route.
  public var bytes: [DMARoute: Int] = [:]
  /// Multiply-accumulates the cube performed (useful ones, not padding).
  public var macs = 0
  /// The units over time.
  public var events: [TraceEvent] = []

  /// An empty report.
  public init(config: NPUConfig) { self.config = config }

  /// Useful MACs per cycle.
  public var macsPerCycle: Double { cycles == 0 ? 0 : Double(macs) / Double(cycles) }
  /// Achieved over peak MAC/cycle.
  public var cubeUtilisation: Double { macsPerCycle / Double(config.peakMACsPerCycle) }
  /// Busy cycles of `unit` over all cycles.
  public func busyFraction(_ unit: NPUUnit) -> Double { cycles == 0 ? 0 : Double(busy[unit] ?? 0) / Double(cycles) }

  /// `other` appended after this report, its events shifted by this report's cycles.
  public func followed(by other: CycleReport) -> CycleReport {
    var merged = self
    merged.cycles += other.cycles
    merged.busy.merge(other.busy, uniquingKeysWith: +)
    merged.instructions.merge(other.instructions, uniquingKeysWith: +)
    merged.bytes.merge(other.bytes, uniquingKeysWith: +)
    merged.macs += other.macs
    merged.events += other.events.map {
      TraceEvent(unit: $0.unit, name: $0.name, start: $0.start + cycles, end: $0.end + cycles)
    }
    return merged
  }

  /// The report as text: cycles and time, per-unit busy, bytes per route, MAC/cycle.
  public var summary: String {
    let micros = Double(cycles) / (config.clockGHz * 1000)
    var lines = [
      "npu cycles: \(cycles) (\(String(format: "%.3f", micros)) µs at \(config.clockGHz) GHz)",
      String(
        format: "cube: %d MACs, %.1f MAC/cycle of %d peak (%.1f%% utilisation)", macs, macsPerCycle,
        config.peakMACsPerCycle, cubeUtilisation * 100),
      "unit     busy    instructions",
    ]
    for unit in NPUUnit.allCases {
      lines.append(
        unit.description.padding(toLength: 8, withPad: " ", startingAt: 0)
          + String(format: " %5.1f%%  %d", busyFraction(unit) * 100, instructions[unit] ?? 0))
    }
    lines.append("bytes moved:")
    for route in DMARoute.allCases where (bytes[route] ?? 0) > 0 {
      let (source, destination) = route.memories
      lines.append("  \(source) -> \(destination): \(bytes[route]!)")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// The trace in Chrome/Perfetto JSON (`chrome://tracing`, ui.perfetto.dev): one thread per
  /// unit, timestamps in microseconds at the configured clock.
  public var chromeTrace: String {
    let scale = 1 / (config.clockGHz * 1000)
    var entries = NPUUnit.allCases.map {
      "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":0,\"tid\":\($0.rawValue),\"args\":{\"name\":\"\($0)\"}}"
    }
    for event in events {
      let name = event.name.replacingOccurrences(of: "\"", with: "'")
      entries.append(
        "{\"name\":\"\(name)\",\"ph\":\"X\",\"pid\":0,\"tid\":\(event.unit.rawValue),\"ts\":\(Double(event.start) * scale),\"dur\":\(Double(event.end - event.start) * scale)}"
      )
    }
    return "{\"traceEvents\":[\n" + entries.joined(separator: ",\n") + "\n]}\n"
  }
}
