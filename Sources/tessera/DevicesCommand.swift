import Tessera

/// `tessera devices`: every device of every backend, usable or not, and why not.
enum DevicesCommand: Command {
  static let spec = CommandSpec(
    name: "devices", summary: "List every device, its driver and memory, and whether it is usable (or why not).",
    positionals: [], options: [])

  static func run(_ arguments: ParsedArguments) throws {
    let rows = DeviceRegistry.standard().entries.map { entry in
      let info = entry.info
      let status: String
      switch info.availability {
      case .available: status = "yes"
      case .unavailable(let reason): status = "no: " + reason
      }
      return [
        info.name, info.kind.rawValue, info.summary, info.driver, info.memoryBytes.map(formatBytes) ?? "-", status,
      ]
    }
    print(Table(header: ["NAME", "KIND", "DEVICE", "DRIVER", "MEMORY", "USABLE"], rows: rows).text)
  }
}

/// `1.5 GiB`-style sizes.
func formatBytes(_ bytes: Int) -> String {
  let units = ["B", "KiB", "MiB", "GiB", "TiB"]
  var value = Double(bytes)
  var unit = 0
  while value >= 1024 && unit < units.count - 1 {
    value /= 1024
    unit += 1
  }
  return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

/// A plain text table with aligned columns.
struct Table {
  var header: [String]
  var rows: [[String]]

  var text: String {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    return ([header] + rows).map { row in
      row.enumerated().map { column, cell in column == row.count - 1 ? cell : cell.padding(widths[column] + 1) }
        .joined()
    }.joined(separator: "\n")
  }
}
