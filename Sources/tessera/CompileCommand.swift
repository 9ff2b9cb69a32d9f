import Foundation
import Tessera

/// `tessera compile`: run the graph compiler and write what each stage produced.
enum CompileCommand: Command {
  static let spec = CommandSpec(
    name: "compile",
    summary: "Compile a graph for a target; print or write the optimised graph, the plan or the kernels.",
    positionals: [("GRAPH.tir", "The graph file (.tir, or an .onnx model).")],
    options: [
      inputShapeOption,
      OptionSpec(name: "--target", valueName: "T", help: "cpu, opencl, vulkan, npu or kir (default: kir)."),
      OptionSpec(
        name: "--device", valueName: "D",
        help:
          "Compile for this device as it will run (opencl[:N], vulkan[:N]): its driver's choices and its tuning, where --target gives the kind's defaults."
      ),
      OptionSpec(
        name: "--emit", valueName: "WHAT",
        help:
          "graph, plan, kir; opencl with --target opencl; spirv (needs -o) or spirv-asm with --target vulkan; npu-asm with --target npu (default: plan)."
      ),
      OptionSpec(
        name: "--output-dir", valueName: "DIR",
        help:
          "Write files into DIR instead of printing (graph.tir, plan.txt, <kernel>.kir|.cl|.spv|.spvasm, program.npuasm).",
        short: "-o"),
      OptionSpec(
        name: "--function", valueName: "NAME", help: "The function to compile (default: the first in the file)."),
      OptionSpec(name: "--print-after-all", help: "Print the graph after every pass (to standard error)."),
    ],
    examples: [
      "tessera compile examples/mlp.tir --target opencl --emit plan",
      "tessera compile examples/mlp.tir --emit kir --output-dir build/mlp",
      "tessera compile examples/mlp.tir --target npu --emit npu-asm",
      "tessera compile examples/mlp.tir --target vulkan --emit spirv -o build/mlp",
      "tessera compile examples/mlp.tir --device opencl:0 --emit opencl",
    ])

  static func run(_ arguments: ParsedArguments) throws {
    let module = try loadModule(arguments.positionals[0], arguments)
    let graph = try selectFunction(module, arguments.value("--function"))
    try Verifier.verify(graph)
    let targets = CompileTarget.standard
    let device = try arguments.value("--device").map(tunableDevice)
    if device != nil, arguments.value("--target") != nil {
      throw UsageError(description: "--target and --device: give one (the device implies its target)")
    }
    let targetName = device?.capabilities.name ?? arguments.value("--target") ?? "kir"
    guard var target = targets.first(where: { $0.name == targetName }) else {
      throw UsageError(
        description: "--target: unknown target '\(targetName)' (known: \(targets.map(\.name).joined(separator: ", ")))")
    }
    if let device { target.capabilities = device.capabilities }
    let emit = arguments.value("--emit") ?? "plan"
    let common = ["graph", "plan", "kir"]
    let artifactsKnown = common + targets.flatMap { $0.emitters.keys.sorted() }
    guard artifactsKnown.contains(emit) else {
      throw UsageError(
        description: "--emit: unknown artifact '\(emit)' (known: \(artifactsKnown.joined(separator: ", ")))")
    }
    if !common.contains(emit), target.emitters[emit] == nil {
      let owner = targets.first { $0.emitters[emit] != nil }!.name
      throw UsageError(description: "--emit \(emit) needs --target \(owner)")
    }
    if target.binaryArtifacts.contains(emit) && arguments.value("--output-dir") == nil {
      throw UsageError(description: "--emit \(emit) writes binary files: give --output-dir DIR")
    }
    let printAfterAll = arguments.flags.contains("--print-after-all")
    let options = CompileOptions(
      passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: StandardKernelLibrary(),
      fallback: "cpu")
    let plan = try GraphCompiler.compile(graph, target: target.capabilities, options: options) { pass, graph in
      if printAfterAll { printError("// after \(pass)\n" + Printer.print(graph)) }
    }
    let artifacts: [(name: String, bytes: [UInt8])] =
      switch emit {
      case "graph": [("graph.tir", Array(Printer.print(plan.graph).utf8))]
      case "kir": plan.kernels.map { ("\($0.name).kir", Array(KIRPrinter.print($0).utf8)) }
      case "plan": [("plan.txt", Array(plan.description.utf8))]
      default: try target.emitters[emit]!(plan)
      }
    guard let directory = arguments.value("--output-dir") else {
      print(artifacts.map { String(decoding: $0.bytes, as: UTF8.self) }.joined(separator: "\n"), terminator: "")
      return
    }
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for (name, bytes) in artifacts {
      try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + name))
    }
    print("wrote \(artifacts.count) file(s) to \(directory)")
  }

  /// The device `--device` names, which must be one whose compilation depends on the device
  /// (OpenCL, Vulkan).
  private static func tunableDevice(_ name: String) throws -> any TunableDevice {
    let device = try DeviceRegistry.standard().device(named: name)
    guard let tunable = device as? any TunableDevice else {
      throw UsageError(
        description:
          "--device \(name): \(device.info.name) compiles as its kind does everywhere; use --target \(device.info.kind.rawValue)"
      )
    }
    return tunable
  }
}
