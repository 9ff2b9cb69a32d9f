import Foundation
import Tessera

/// `tessera compile`: run the graph compiler and write what each stage produced.
enum CompileCommand: Command {
  static let spec = CommandSpec(
    name: "compile",
    summary: "Compile a graph for a target; print or write the optimised graph, the plan or the kernels.",
    positionals: [("GRAPH.tir", "The graph file.")],
    options: [
      OptionSpec(name: "--target", valueName: "T", help: "cpu, opencl, vulkan, npu or kir (default: kir)."),
      OptionSpec(
        name: "--emit", valueName: "WHAT",
        help:
          "graph, plan, kir; opencl; spirv (needs -o) or spirv-asm with --target vulkan; npu-asm with --target npu (default: plan)."
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
    ])

  static func run(_ arguments: ParsedArguments) throws {
    let module = try loadModule(arguments.positionals[0])
    let graph = try selectFunction(module, arguments.value("--function"))
    try Verifier.verify(graph)
    let targetName = arguments.value("--target") ?? "kir"
    guard let target = TargetCapabilities.named(targetName) else {
      throw UsageError(description: "--target: unknown target '\(targetName)' (known: cpu, opencl, vulkan, npu, kir)")
    }
    let emit = arguments.value("--emit") ?? "plan"
    let artifactsKnown = ["graph", "plan", "kir", "opencl", "spirv", "spirv-asm", "npu-asm"]
    guard artifactsKnown.contains(emit) else {
      throw UsageError(
        description: "--emit: unknown artifact '\(emit)' (known: \(artifactsKnown.joined(separator: ", ")))")
    }
    guard emit != "npu-asm" || targetName == "npu" else {
      throw UsageError(description: "--emit npu-asm needs --target npu")
    }
    if emit.hasPrefix("spirv") && targetName != "vulkan" {
      throw UsageError(description: "--emit \(emit) needs --target vulkan")
    }
    if emit == "spirv" && arguments.value("--output-dir") == nil {
      throw UsageError(description: "--emit spirv writes binary .spv files: give --output-dir DIR")
    }
    let printAfterAll = arguments.flags.contains("--print-after-all")
    let options = CompileOptions(
      passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: StandardKernelLibrary(),
      fallback: "cpu")
    let plan = try GraphCompiler.compile(graph, target: target, options: options) { pass, graph in
      if printAfterAll { printError("// after \(pass)\n" + Printer.print(graph)) }
    }
    let artifacts: [(String, [UInt8])] =
      switch emit {
      case "graph": [("graph.tir", Array(Printer.print(plan.graph).utf8))]
      case "kir": plan.kernels.map { ("\($0.name).kir", Array(KIRPrinter.print($0).utf8)) }
      // Portable OpenCL C (f16 computed as float): each file builds on its own.
      case "opencl":
        plan.kernels.map { ("\($0.name).cl", Array(OpenCLCodegen.program([$0], options: OpenCLCodegenOptions()).utf8)) }
      case "spirv": try spirvModules(plan).map { ("\($0.0).spv", $0.1.bytes) }
      case "spirv-asm": try spirvModules(plan).map { ("\($0.0).spvasm", Array($0.1.assembly.utf8)) }
      case "npu-asm": [("program.npuasm", Array(NPULowering.assembly(for: plan).utf8))]
      default: [("plan.txt", Array(plan.description.utf8))]
      }
    guard let directory = arguments.value("--output-dir") else {
      print(artifacts.map { String(decoding: $0.1, as: UTF8.self) }.joined(separator: "\n"), terminator: "")
      return
    }
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for (name, bytes) in artifacts {
      try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + name))
    }
    print("wrote \(artifacts.count) file(s) to \(directory)")
  }

  /// The SPIR-V module of every kernel the plan runs on the target, by kernel name.
  private static func spirvModules(_ plan: CompiledPlan) throws -> [(String, SPIRVModule)] {
    try plan.steps.filter { $0.device == plan.target.name }.compactMap(\.call).map { call in
      (
        call.kernel.name,
        try SPIRVCodegen.generate(call.kernel, aliased: VulkanPlanBinding.aliasedBuffers(of: call, in: plan))
      )
    }
  }
}
