import Foundation

/// The parity report as text and as an HTML page with an SVG chart: a table of agreement and
/// speed, a table of what each device holds in memory, and the process's peak resident memory.
///
/// Speeds are over steady-state runs only, with how many next to them; the first prefill and the
/// first decode step (compile and first use) have their own column (``GenerationTimings``).
/// Memory is what each device's store counts (``ModelMemory``); the process's peak covers every
/// device together, so it is one line, not a column.
public enum ParityReport {
  /// Column titles of the agreement and speed table.
  public static let header = [
    "DEVICE", "TOKENS = REFERENCE", "MAX |ΔLOGIT| (PER STEP)", "FIRST PREFILL, STEP", "PREFILL TOK/S",
    "DECODE TOK/S",
  ]

  /// The agreement and speed table's cells, one row per device.
  public static func cells(_ result: ParityResult) -> [[String]] {
    result.rows.map { row in
      guard row.failure == nil else { return [row.device, "failed: " + row.failure!, "-", "-", "-", "-"] }
      let timings = row.timings
      return [
        row.device, row.firstDivergence.map { "no: step \($0)" } ?? "yes", deltaSummary(row.maxLogitDelta),
        [timings.firstPrefillSeconds, timings.firstDecodeStepSeconds].map(seconds).joined(separator: ", "),
        rate(timings.prefillTokensPerSecond, "%.1f", over: timings.steadyPrefillCount, "run"),
        rate(timings.decodeTokensPerSecond, "%.2f", over: timings.steadyDecodeStepCount, "step"),
      ]
    }
  }

  /// Column titles of the memory table.
  public static let memoryHeader = ["DEVICE", "WEIGHTS", "KV CACHE", "ARENA, STAGING, OTHER", "DEVICE TOTAL"]

  /// The memory table's cells: what each device's store holds for the model (`-` for a device
  /// that failed).
  public static func memoryCells(_ result: ParityResult) -> [[String]] {
    result.rows.map { row in
      guard let held = row.memory else { return [row.device, "-", "-", "-", "-"] }
      let inPlace = held.weightsReadInPlace > 0 ? " + \(memory(held.weightsReadInPlace)) read in place" : ""
      return [row.device, memory(held.weights) + inPlace, memory(held.cache), memory(held.other), memory(held.total)]
    }
  }

  /// The line under the tables: the process's peak resident memory, which every device shares.
  public static func peakLine(_ result: ParityResult) -> String {
    "process peak RSS (VmHWM, every device above in one process): \(memory(result.peakResidentBytes))"
  }

  /// `12.3 (2 steps)`: a steady-state rate and how many runs it is over; `- (no step after the
  /// first)` when none were timed.
  static func rate(_ value: Double?, _ format: String, over count: Int, _ unit: String) -> String {
    guard let value else { return "- (no \(unit) after the first)" }
    return String(format: format, value) + " (\(count) \(unit)\(count == 1 ? "" : "s"))"
  }

  /// `0.52 s`, or `-` when unknown.
  public static func seconds(_ value: Double?) -> String {
    value.map { String(format: "%.2f s", $0) } ?? "-"
  }

  /// Every step's max |Δlogit| for short runs; for long ones the largest and its step (the HTML
  /// report charts every step).
  static func deltaSummary(_ deltas: [Double]) -> String {
    guard deltas.count > 8, let worst = deltas.indices.max(by: { deltas[$0] < deltas[$1] }) else {
      return deltas.map { String(format: "%.2g", $0) }.joined(separator: " ")
    }
    return String(format: "%.2g at step %d of %d", deltas[worst], worst, deltas.count)
  }

  /// `123.4 MiB`, or `-` when unknown.
  public static func memory(_ bytes: Int?) -> String {
    bytes.map { String(format: "%.1f MiB", Double($0) / 1_048_576) } ?? "-"
  }

  /// A standalone HTML page: the table and a chart of max |Δlogit| per step for each device.
  public static func html(_ result: ParityResult, title: String) -> String {
    """
    <!doctype html>
    <html><head><meta charset="utf-8"><title>\(escape(title))</title>
    <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}</style>
    </head><body>
    <h1>\(escape(title))</h1>
    <p>Prompt: \(result.promptTokens.count) tokens. Reference text: <code>\(escape(result.referenceText))</code></p>
    \(table(header, cells(result)))
    <h2>Memory each device holds (its own count of its allocations)</h2>
    \(table(memoryHeader, memoryCells(result)))
    <p>\(escape(peakLine(result)))</p>
    <h2>Max |Δlogit| vs reference, per step</h2>
    \(chart(result))
    </body></html>
    """
  }

  /// An HTML table of `header` and `rows`.
  static func table(_ header: [String], _ rows: [[String]]) -> String {
    "<table><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
      + rows.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }.joined(separator: "\n")
      + "\n</table>"
  }

  /// A line chart: x = step, y = max |Δlogit|, one coloured line per device.
  static func chart(_ result: ParityResult) -> String {
    let (width, height, margin) = (640.0, 240.0, 40.0)
    let series = result.rows.filter { $0.failure == nil }
    let steps = Swift.max(series.map(\.maxLogitDelta.count).max() ?? 1, 2)
    let top = Swift.max(series.flatMap(\.maxLogitDelta).max() ?? 0, 1e-6)
    let colours = ["#444", "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
    var svg = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))">
      <line x1="\(margin)" y1="\(height - margin)" x2="\(width - 10)" y2="\(height - margin)" stroke="black"/>
      <line x1="\(margin)" y1="10" x2="\(margin)" y2="\(height - margin)" stroke="black"/>
      <text x="2" y="16" font-size="11">\(String(format: "%.2g", top))</text>
      <text x="\(margin)" y="\(height - 20)" font-size="11">step 0</text>
      <text x="\(width - 60)" y="\(height - 20)" font-size="11">step \(steps - 1)</text>

      """
    for (index, row) in series.enumerated() {
      let colour = colours[index % colours.count]
      let points = row.maxLogitDelta.enumerated().map { step, delta in
        let x = margin + (width - margin - 10) * Double(step) / Double(steps - 1)
        let y = height - margin - (height - margin - 10) * delta / top
        return String(format: "%.1f,%.1f", x, y)
      }.joined(separator: " ")
      svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points)\"/>\n"
      svg +=
        "<text x=\"\(width - 150)\" y=\"\(20 + 14 * index)\" font-size=\"12\" fill=\"\(colour)\">\(escape(row.device))</text>\n"
    }
    return svg + "</svg>"
  }

  static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }
}
