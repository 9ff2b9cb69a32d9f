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
      OptionSpec(
        name: "--products", valueName: "LIST",
        help:
          "f32 products for the staged matmul's tilings, as MxNxK joined by ';' (default: 512x512x512;128x1536x576)."),
      OptionSpec(
        name: "--family", valueName: "F",
        help:
          "quantized (the matmul reading GGUF blocks), staged (large f32 products, on devices that stage them) or all (default)."
      ),
      OptionSpec(name: "--repeat", valueName: "N", help: "Timed runs of each problem for each shape (default 5)."),
      OptionSpec(name: "--dry-run", help: "Measure and print, but keep the tuning file as it is."),
    ],
    examples: [
      "tessera tune --device vulkan:0", "tessera tune --device opencl:0 --matrices 'q8_0[4096,576]' --dry-run",
      "tessera tune --device vulkan:0 --family staged --products '1024x1024x1024'",
    ])

  static func run(_ arguments: ParsedArguments) throws {
    guard let name = arguments.value("--device") else { throw UsageError(description: "tune needs --device D") }
    let repeats = try arguments.integer("--repeat") ?? 5
    guard repeats > 0 else { throw UsageError(description: "--repeat expects a positive integer, found \(repeats)") }
    let matrices = try arguments.value("--matrices").map(parseMatrices) ?? KernelTuner.decodeMatrices
    let products = try arguments.value("--products").map(parseProducts) ?? KernelTuner.prefillProducts
    let family = arguments.value("--family") ?? "all"
    guard ["quantized", "staged", "all"].contains(family) else {
      throw UsageError(description: "--family expects quantized, staged or all, found '\(family)'")
    }
    let device = try DeviceSelection.registry().device(named: name)
    guard let tunable = device as? any TunableDevice else {
      throw UsageError(
        description:
          "\(device.info.name) has nothing to tune: only opencl and vulkan devices have launch shapes to measure (the cpu picks its blocks from the cache sizes)"
      )
    }
    if let problem = tunable.tuningProblem { printError("note: \(problem); measuring from the defaults") }
    let tuner = KernelTuner(matrices: matrices, products: products, repeats: repeats)
    var tuning = tunable.capabilities.tuning
    if family != "staged" {
      print(
        "tuning the quantized matmul on \(device.info.name) (\(device.info.summary)) with \(matrices.map(\.description).joined(separator: ", ")), \(repeats) timed runs each"
      )
      let total = tuner.quantizedShapes(on: tunable).count * KernelTuner.passes
      let outcome = try ProgressLine.during("measuring shapes on \(device.info.name)", total: total) {
        progress in try tuner.tuneQuantizedMatmul(on: tunable) { _, _ in progress.advance() }
      }
      report(outcome, default: "\(QuantizedMatmulTuning.untuned(for: tunable.capabilities))")
      tuning.quantizedMatmul = outcome.chosen
    }
    if family != "quantized" {
      if let untuned = tunable.capabilities.stagedMatmul {
        print(
          "tuning the staged matmul on \(device.info.name) with \(products.map(\.description).joined(separator: ", ")), \(repeats) timed runs each"
        )
        let total = tuner.stagedShapes(on: tunable).count * KernelTuner.passes
        let outcome = try ProgressLine.during("measuring tilings on \(device.info.name)", total: total) {
          progress in try tuner.tuneStagedMatmul(on: tunable) { _, _ in progress.advance() }
        }
        if let outcome { report(outcome, default: "\(untuned)") }
        tuning.stagedMatmul = outcome?.chosen
      } else {
        print(
          "the staged matmul: not used on \(device.info.name), whose driver runs on the CPU (its large products take the register-blocked kernel)"
        )
      }
    }
    guard !arguments.flags.contains("--dry-run") else {
      print("dry run: \(tunable.tuningPath) left as it is")
      return
    }
    try TuningFile.save(tuning, deviceKey: tunable.tuningKey, to: tunable.tuningPath)
    print("wrote \(tunable.tuningPath)")
  }

  /// Prints a search's measurements and its choice.
  private static func report<Shape: Hashable & Sendable & CustomStringConvertible>(
    _ outcome: KernelTuner.Outcome<Shape>, default untuned: String
  ) {
    let rows = outcome.measurements.map { measurement in
      [
        measurement.shape.map(\.description) ?? "default: \(untuned)",
        measurement.seconds.map { String(format: "%.3f ms", $0 * 1e3) } ?? "rejected: " + (measurement.rejection ?? ""),
        measurement.shape != nil && measurement.shape == outcome.chosen ? "<- chosen" : "",
      ]
    }
    print(Table(header: ["SHAPE", "TIME PER RUN", ""], rows: rows).text)
    let chosen = outcome.chosen.map { "\($0), \(String(format: "%.2f", outcome.speedup))x the default" }
    print("chosen: " + (chosen ?? "the default (no shape was faster)"))
  }

  /// `512x512x512;128x1536x576` as products, with an error naming the entry that is wrong.
  static func parseProducts(_ text: String) throws(UsageError) -> [KernelTuner.Product] {
    try entries(of: text, option: "--products") { entry throws(UsageError) in
      let sizes = entry.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) ?? 0 }
      guard sizes.count == 3, sizes.allSatisfy({ 1...65536 ~= $0 }),
        sizes.map(Double.init).reduce(1, *) <= 0x1p31
      else {
        throw UsageError(
          description:
            "--products: '\(entry)' is not MxNxK with sizes from 1 to 65536 and at most 2^31 multiply-adds (e.g. 512x512x512)"
        )
      }
      return KernelTuner.Product(m: sizes[0], n: sizes[1], k: sizes[2])
    }
  }

  /// `q4_1[576,576];q8_0[4096,576]` as matrices, with an error naming the entry that is wrong.
  static func parseMatrices(_ text: String) throws(UsageError) -> [KernelTuner.Matrix] {
    try entries(of: text, option: "--matrices") { entry throws(UsageError) in
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
      return KernelTuner.Matrix(rows: rows, columns: columns, dtype: dtype)
    }
  }

  /// The `;`-separated entries of `option`'s `text`, trimmed (blank ones skipped), each parsed by
  /// `parse`; none is an error.
  private static func entries<Entry>(
    of text: String, option: String, _ parse: (String) throws(UsageError) -> Entry
  ) throws(UsageError) -> [Entry] {
    var parsed: [Entry] = []
    for entry in text.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
      parsed.append(try parse(entry))
    }
    guard !parsed.isEmpty else { throw UsageError(description: "\(option): no entry given") }
    return parsed
  }
}
