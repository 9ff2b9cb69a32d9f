import Foundation

/// Writes benchmark rows as a self-contained HTML page: a table and, per suite, an SVG bar chart of
/// Tessera against its peer (grouped bars, one group per row).
enum HTMLReport {
  static func write(_ rows: [CPUBenchmark.Row], title: String, to path: String) throws {
    var html = """
      <!doctype html><html><head><meta charset="utf-8"><title>\(escape(title))</title>
      <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style>
      </head><body><h1>\(escape(title))</h1>
      """
    for suite in Array(Set(rows.map(\.suite))).sorted() {
      let suiteRows = rows.filter { $0.suite == suite }
      html += "<h2>\(escape(suite))</h2>" + chart(suiteRows) + table(suiteRows)
    }
    html += "</body></html>\n"
    try html.write(toFile: path, atomically: true, encoding: .utf8)
  }

  private static func table(_ rows: [CPUBenchmark.Row]) -> String {
    var html = "<table><tr><th>case</th><th>threads</th><th>Tessera</th><th>peer</th><th>ratio</th></tr>"
    for row in rows {
      let peer = row.peer.map { String(format: "%.2f %@ (%@)", $0, row.unit, row.peerName) } ?? "n/a"
      let ratio = row.ratio.map { String(format: "%.2f×", $0) } ?? "-"
      html +=
        "<tr><td>\(escape(row.name))</td><td>\(row.threads)</td><td>\(String(format: "%.2f", row.value)) \(escape(row.unit))</td>"
      html += "<td>\(escape(peer))</td><td>\(ratio)</td></tr>"
    }
    return html + "</table>"
  }

  /// Grouped horizontal bars: Tessera (blue) and the peer (grey) per row, on a shared scale.
  private static func chart(_ rows: [CPUBenchmark.Row]) -> String {
    let barHeight = 14, gap = 10, labelWidth = 220, plotWidth = 480
    let largest = rows.flatMap { [$0.value, $0.peer ?? 0] }.max() ?? 1
    let height = rows.count * (2 * barHeight + gap) + gap
    var svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(labelWidth + plotWidth + 120)\" height=\"\(height)\">"
    for (index, row) in rows.enumerated() {
      let y = gap + index * (2 * barHeight + gap)
      svg += "<text x=\"0\" y=\"\(y + barHeight)\" font-size=\"12\">\(escape("\(row.name), \(row.threads)t"))</text>"
      for (offset, value, color) in [(0, row.value, "#3b6fd4"), (barHeight, row.peer ?? 0, "#9a9a9a")] {
        let width = Int(Double(plotWidth) * value / Swift.max(largest, 1e-9))
        svg +=
          "<rect x=\"\(labelWidth)\" y=\"\(y + offset)\" width=\"\(width)\" height=\"\(barHeight - 2)\" fill=\"\(color)\"/>"
        svg += "<text x=\"\(labelWidth + width + 4)\" y=\"\(y + offset + barHeight - 3)\" font-size=\"11\">"
        svg += String(format: "%.1f", value) + "</text>"
      }
    }
    return svg + "</svg><p>blue: Tessera; grey: peer (same run)</p>"
  }

  private static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;")
  }
}
