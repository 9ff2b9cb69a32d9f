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
        help: "graph, plan, kir, opencl, or npu-asm (with --target npu) (default: plan)."),
      OptionSpec(
        name: "--output-dir", valueName: "DIR",
        help:
          "Write files into DIR instead of printing (graph.tir, plan.txt, <kernel>.kir, <kernel>.cl, program.npuasm).",
        short: "-o"),
      OptionSpec(
        name: "--function", valueName: "NAME", help: "The function to compile (default: the first in the file)."),
      OptionSpec(name: "--print-after-all", help: "Print the graph after every pass (to standard error)."),
    ],
    examples: [
      "tessera compile examples/mlp.tir --target opencl --emit plan",
      "tessera compile examples/mlp.tir --emit kir --output-dir build/mlp",
      "tessera compile examples/mlp.tir --target npu --emit npu-asm",
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
    guard ["graph", "plan", "kir", "opencl", "npu-asm"].contains(emit) else {
      throw UsageError(description: "--emit: unknown artifact '\(emit)' (known: graph, plan, kir, opencl, npu-asm)")
    }
    guard emit != "npu-asm" || targetName == "npu" else {
      throw UsageError(description: "--emit npu-asm needs --target npu")
    }
    let printAfterAll = arguments.flags.contains("--print-after-all")
    let options = CompileOptions(
      passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: StandardKernelLibrary(),
      fallback: "cpu")
    let plan = try GraphCompiler.compile(graph, target: target, options: options) { pass, graph in
      if printAfterAll { printError("// after \(pass)\n" + Printer.print(graph)) }
    }
    let artifacts: [(String, String)] =
      switch emit {
      case "graph": [("graph.tir", Printer.print(plan.graph))]
      case "kir": plan.kernels.map { ("\($0.name).kir", KIRPrinter.print($0)) }
      // Portable OpenCL C (f16 computed as float): each file builds on its own.
      case "opencl":
        plan.kernels.map { ("\($0.name).cl", OpenCLCodegen.program([$0], options: OpenCLCodegenOptions())) }
      case "npu-asm": [("program.npuasm", NPULowering.assembly(for: plan))]
      default: [("plan.txt", plan.description)]
      }
    guard let directory = arguments.value("--output-dir") else {
      print(artifacts.map(\.1).joined(separator: "\n"), terminator: "")
      return
    }
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for (name, text) in artifacts {
      try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
    }
    print("wrote \(artifacts.count) file(s) to \(directory)")
  }
}
