import Foundation

/// The parity table as text and as an HTML page with an SVG chart.
public enum ParityReport {
  /// Column titles of the table.
  public static let header = [
    "DEVICE", "TOKENS = REFERENCE", "MAX |ΔLOGIT| (PER STEP)", "PREFILL TOK/S", "DECODE TOK/S", "PEAK RSS",
  ]

  /// The table's cells, one row per device.
  public static func cells(_ result: ParityResult) -> [[String]] {
    result.rows.map { row in
      guard row.failure == nil else {
        return [row.device, "failed: " + row.failure!, "-", "-", "-", memory(row.peakResidentBytes)]
      }
      return [
        row.device, row.firstDivergence.map { "no: step \($0)" } ?? "yes",
        deltaSummary(row.maxLogitDelta),
        String(format: "%.1f", row.prefillTokensPerSecond), String(format: "%.2f", row.decodeTokensPerSecond),
        memory(row.peakResidentBytes),
      ]
    }
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
    let rows = cells(result).map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }.joined(
      separator: "\n")
    return """
      <!doctype html>
      <html><head><meta charset="utf-8"><title>\(escape(title))</title>
      <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}</style>
      </head><body>
      <h1>\(escape(title))</h1>
      <p>Prompt: \(result.promptTokens.count) tokens. Reference text: <code>\(escape(result.referenceText))</code></p>
      <table><tr>\(header.map { "<th>\(escape($0))</th>" }.joined())</tr>
      \(rows)
      </table>
      <h2>Max |Δlogit| vs reference, per step</h2>
      \(chart(result))
      </body></html>
      """
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
