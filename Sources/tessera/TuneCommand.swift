import Foundation
import Tessera

/// `tessera tune --device D`: measures the device's kernel launch shapes on it and keeps the
/// fastest in its tuning file, which the device reads whenever it is opened.
enum TuneCommand: Command {
  static let spec = CommandSpec(
    name: "tune",
    summary: "Measure kernel launch shapes on a GPU device and keep the fastest for it (its tuning file).",
    positionals: [],
    options: [
      OptionSpec(name: "--device", valueName: "D", help: "The device to tune: an opencl or vulkan device (required)."),
      OptionSpec(
        name: "--matrices", valueName: "LIST",
        help:
          "Weights to multiply by, as TYPE[ROWS,COLUMNS] joined by ';' (default: SmolLM2's decode matrices, q4_1[576,576];q4_1[1536,576];q4_1[576,1536])."
      ),
      OptionSpec(name: "--repeat", valueName: "N", help: "Timed runs of each matrix for each shape (default 5)."),
      OptionSpec(name: "--dry-run", help: "Measure and print, but keep the tuning file as it is."),
    ],
    examples: [
      "tessera tune --device vulkan:0", "tessera tune --device opencl:0 --matrices 'q8_0[4096,576]' --dry-run",
    ])

  static func run(_ arguments: ParsedArguments) throws {
    guard let name = arguments.value("--device") else { throw UsageError(description: "tune needs --device D") }
    let repeats = try arguments.integer("--repeat") ?? 5
    guard repeats > 0 else { throw UsageError(description: "--repeat expects a positive integer, found \(repeats)") }
    let matrices = try arguments.value("--matrices").map(parseMatrices) ?? KernelTuner.decodeMatrices
    let device = try DeviceSelection.registry().device(named: name)
    guard let tunable = device as? any TunableDevice else {
      throw UsageError(
        description:
          "\(device.info.name) has nothing to tune: only opencl and vulkan devices have launch shapes to measure (the cpu picks its blocks from the cache sizes)"
      )
    }
    if let problem = tunable.tuningProblem { printError("note: \(problem); measuring from the defaults") }
    let tuner = KernelTuner(matrices: matrices, repeats: repeats)
    print(
      "tuning the quantized matmul on \(device.info.name) (\(device.info.summary)) with \(matrices.map(\.description).joined(separator: ", ")), \(repeats) timed runs each"
    )
    let total = tuner.shapes(on: tunable).count * KernelTuner.passes
    let outcome = try ProgressLine.during("measuring shapes on \(device.info.name)", total: total) {
      progress in try tuner.tuneQuantizedMatmul(on: tunable) { _, _ in progress.advance() }
    }
    let rows = outcome.measurements.map { measurement in
      [
        measurement.shape.map(\.description)
          ?? "default: \(QuantizedMatmulTuning.untuned(for: tunable.capabilities))",
        measurement.seconds.map { String(format: "%.3f ms", $0 * 1e3) } ?? "rejected: " + (measurement.rejection ?? ""),
        measurement.shape != nil && measurement.shape == outcome.tuning.quantizedMatmul ? "<- chosen" : "",
      ]
    }
    print(Table(header: ["SHAPE", "TIME PER RUN", ""], rows: rows).text)
    let chosen = outcome.tuning.quantizedMatmul.map { "\($0), \(String(format: "%.2f", outcome.speedup))x the default" }
    print("chosen: " + (chosen ?? "the default (no shape was faster)"))
    guard !arguments.flags.contains("--dry-run") else {
      print("dry run: \(tunable.tuningPath) left as it is")
      return
    }
    try TuningFile.save(outcome.tuning, deviceKey: tunable.tuningKey, to: tunable.tuningPath)
    print("wrote \(tunable.tuningPath)")
  }

  /// `q4_1[576,576];q8_0[4096,576]` as matrices, with an error naming the entry that is wrong.
  static func parseMatrices(_ text: String) throws(UsageError) -> [KernelTuner.Matrix] {
    var matrices: [KernelTuner.Matrix] = []
    for entry in text.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) {
      let parts = entry.split(whereSeparator: { "[],".contains($0) }).map(String.init)
      guard entry.hasSuffix("]"), parts.count == 3, let dtype = DType(rawValue: parts[0]), let block = dtype.quantBlock,
        let rows = Int(parts[1]), let columns = Int(parts[2]), rows > 0, columns > 0
      else {
        throw UsageError(
          description: "--matrices: '\(entry)' is not TYPE[ROWS,COLUMNS] with a block type (e.g. q4_1[576,576])")
      }
      guard columns % block.elements == 0 else {
        throw UsageError(
          description:
            "--matrices: '\(entry)' has \(columns) columns, not a multiple of \(dtype)'s block of \(block.elements)")
      }
      matrices.append(KernelTuner.Matrix(rows: rows, columns: columns, dtype: dtype))
    }
    guard !matrices.isEmpty else { throw UsageError(description: "--matrices: no matrix given") }
    return matrices
  }
}
