import Foundation
import Tessera

/// `tessera run`: run a graph's function on one device (or every usable one) with `.npy` inputs.
enum RunCommand: Command {
  static let spec = CommandSpec(
    name: "run", summary: "Run a graph on a device with .npy inputs; write result0.npy, result1.npy, …",
    positionals: [("GRAPH.tir", "The graph file (.tir, or an .onnx model).")],
    options: [
      inputShapeOption,
      OptionSpec(
        name: "--device", valueName: "D",
        help: "reference, cpu, opencl[:N], vulkan[:N], npu, or all (default: reference)."),
      DeviceSelection.fallbackOption,
      OptionSpec(name: "--input", valueName: "NAME=FILE.npy", help: "The value of argument %NAME.", repeatable: true),
      OptionSpec(
        name: "--random-inputs", valueName: "SEED", help: "Fill arguments without --input with seeded random values."),
      OptionSpec(
        name: "--output-dir", valueName: "DIR",
        help: "Where result files go (default: current folder; with --device all, DIR/<device>/).", short: "-o"),
      OptionSpec(name: "--function", valueName: "NAME", help: "The function to run (default: the first in the file)."),
      OptionSpec(
        name: "--profile",
        help: "Print each kernel's device time (OpenCL, Vulkan) or the NPU cycle report (npu)."),
      Observation.deterministicOption, Observation.traceOption,
    ],
    examples: [
      "tessera run examples/mlp.tir --input x=x.npy --input w1=w1.npy --input b1=b1.npy --input w2=w2.npy",
      "tessera run examples/mlp.tir --device all --random-inputs 0",
      "tessera run examples/mlp.tir --device npu --random-inputs 0 --profile --trace npu-trace.json",
      "tessera run examples/mlp.tir --device opencl --random-inputs 0 --deterministic --trace opencl-trace.json",
      "TESSERA_FAULT=build:opencl tessera run examples/mlp.tir --device opencl --random-inputs 0 --fallback cpu",
    ])

  static func run(_ arguments: ParsedArguments) throws {
    let module = try loadModule(arguments.positionals[0], arguments)
    let graph = try selectFunction(module, arguments.value("--function"))
    try Verifier.verify(graph)
    let (inputs, sources) = try gatherInputs(graph, arguments)
    let fallback = arguments.value("--fallback")
    if fallback != nil && arguments.flags.contains("--profile") {
      throw UsageError(description: "--profile measures one device; it cannot be combined with --fallback")
    }
    let registry = try DeviceSelection.registry()
    let deviceName = arguments.value("--device") ?? "reference"
    let devices = try DeviceSelection.devices(deviceName, fallback: fallback, in: registry)
    let detailed = devices.count == 1 ? devices[0] as? any DetailedProfiling : nil
    if let detailed, arguments.flags.contains("--profile") {
      try profile(detailed, graph, inputs)
    }

    var outcomes: [Outcome] = []
    for device in devices {
      let compiled = try device.compile(graph)
      let start = DispatchTime.now().uptimeNanoseconds
      let results = try runNamingSources(compiled, inputs, sources)
      outcomes.append(
        Outcome(
          device: device.info.name, ranOn: DeviceSelection.name(device), results: results,
          seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
      if arguments.flags.contains("--profile") && detailed == nil {
        printProfile(device.info.name, try compiled.profile(inputs: inputs))
      }
    }

    if deviceName == "all" {
      printSideBySide(graph, outcomes)
      if let directory = arguments.value("--output-dir") {
        for outcome in outcomes { try writeResults(outcome.results, to: directory + "/" + outcome.device) }
      }
    } else {
      let outcome = outcomes[0]
      for (index, result) in outcome.results.enumerated() {
        print("result\(index): \(result.type) \(result.preview())")
      }
      let directory = arguments.value("--output-dir") ?? "."
      try writeResults(outcome.results, to: directory)
      print(
        "ran @\(graph.name) on \(outcome.ranOn) in \(String(format: "%.3f", outcome.seconds * 1000)) ms; wrote \(outcome.results.count) result file(s) to \(directory)"
      )
    }
  }

  /// What one device computed: its name (which names its folder of results with `--device all`),
  /// the device that did the work (its fallback, when the work moved), the results, the time.
  private struct Outcome {
    var device: String
    var ranOn: String
    var results: [Tensor]
    var seconds: Double
  }

  /// Runs once more on a device with a report of its own and shows the report.
  private static func profile(_ device: any DetailedProfiling, _ graph: Graph, _ inputs: [String: Tensor]) throws {
    let ordered = try graph.arguments.map { argument in
      guard let input = inputs[graph[argument].name] else { throw DeviceError.missingInput(name: graph[argument].name) }
      return input
    }
    print(try device.detailedProfile(of: graph, inputs: ordered, trace: false).report, terminator: "")
  }

  /// Inputs by argument name from `--input` and `--random-inputs`, plus where each came from.
  private static func gatherInputs(_ graph: Graph, _ arguments: ParsedArguments) throws -> (
    [String: Tensor], [String: String]
  ) {
    var inputs: [String: Tensor] = [:]
    var sources: [String: String] = [:]
    for assignment in arguments.all("--input") {
      let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
        throw UsageError(description: "--input '\(assignment)': expected NAME=FILE.npy")
      }
      let name = parts[0].hasPrefix("%") ? String(parts[0].dropFirst()) : parts[0]
      guard inputs[name] == nil else { throw UsageError(description: "--input \(name) is given twice") }
      inputs[name] = try NPY.read(path: parts[1])
      sources[name] = parts[1]
    }
    if let seed = try arguments.integer("--random-inputs") {
      var generator = SeededRandom(seed: UInt64(truncatingIfNeeded: seed))
      for argument in graph.arguments where inputs[graph[argument].name] == nil {
        let type = graph.type(of: argument)
        inputs[graph[argument].name] = Tensor.random(
          type, integerBound: max(type.shape.dims.min() ?? 4, 1), using: &generator)
      }
    }
    return (inputs, sources)
  }

  /// Runs, and names the `--input` file when an input has the wrong type.
  private static func runNamingSources(
    _ compiled: CompiledGraph, _ inputs: [String: Tensor], _ sources: [String: String]
  ) throws -> [Tensor] {
    do {
      return try compiled.run(inputs: inputs)
    } catch {
      guard case .inputType(let name, let expected, let found) = error else { throw error }
      throw UsageError(
        description: "--input \(name)=\(sources[name] ?? "<random>"): expected \(expected), found \(found)")
    }
  }

  private static func printProfile(_ device: String, _ kernels: [KernelTiming]?) {
    guard let kernels else {
      print("profile on \(device): this device does not time kernels")
      return
    }
    let total = kernels.map(\.seconds).reduce(0, +)
    print(
      "profile on \(device): \(kernels.count) kernel launches, \(String(format: "%.3f", total * 1e3)) ms on the device")
    for timing in kernels {
      print(
        "  \(timing.kernel.padding(toLength: max(24, timing.kernel.count), withPad: " ", startingAt: 0)) \(String(format: "%9.3f", timing.seconds * 1e6)) µs"
      )
    }
  }

  private static func writeResults(_ results: [Tensor], to directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for (index, result) in results.enumerated() {
      let storable = result.dtype == .bf16 ? Tensor(result.doubles, shape: result.shape, dtype: .f32) : result
      try NPY.write(storable, path: "\(directory)/result\(index).npy")
    }
  }

  private static func printSideBySide(_ graph: Graph, _ outcomes: [Outcome]) {
    guard let baseline = outcomes.first else {
      print("no usable device")
      return
    }
    print("@\(graph.name) on \(outcomes.count) device(s); max |Δ| is against \(baseline.ranOn)")
    for index in graph.results.indices {
      print("\nresult\(index): \(baseline.results[index].type)")
      let rows = outcomes.map { outcome in
        let result = outcome.results[index]
        let delta = zip(result.doubles, baseline.results[index].doubles).map { Swift.abs($0 - $1) }.max() ?? 0
        return [
          outcome.ranOn, String(format: "%.3f ms", outcome.seconds * 1000), String(format: "%.3g", delta),
          result.preview(limit: 6),
        ]
      }
      print(Table(header: ["DEVICE", "TIME", "MAX |Δ|", "VALUES"], rows: rows).text)
    }
  }
}
