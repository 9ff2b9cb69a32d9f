import Foundation
import Tessera

/// `tessera parity`: the same prompt greedily on every usable device, compared with `reference`.
enum ParityCommand: Command {
  static let spec = CommandSpec(
    name: "parity", summary: "Run a model greedily on every device; compare tokens and logits with reference.",
    positionals: [],
    options: [
      ModelOption.spec,
      OptionSpec(name: "--devices", valueName: "LIST", help: "all (default) or names separated by commas."),
      OptionSpec(name: "--steps", valueName: "N", help: "Greedy steps per prompt (default 4)."),
      OptionSpec(name: "--prompt", valueName: "TEXT", help: "A prompt (default: one built in).", repeatable: true),
      OptionSpec(name: "--report", valueName: "FILE.html", help: "Also write the tables and a chart as HTML."),
      Observation.deterministicOption, Observation.traceOption,
    ],
    examples: ["tessera parity --steps 4", "tessera parity --devices reference,kir --steps 2 --report parity.html"])

  static func run(_ arguments: ParsedArguments) throws {
    let steps = try arguments.integer("--steps") ?? 4
    guard steps > 0 else { throw UsageError(description: "--steps expects a positive integer") }
    let model = try ModelOption.load(arguments)
    let registry = try DeviceSelection.registry()
    let reference = try registry.device(named: "reference")
    var devices: [any Device]
    let list = arguments.value("--devices") ?? "all"
    if list == "all" {
      let selection = ModelDevices.all(in: registry, for: model)
      devices = selection.devices
      for note in selection.notes { print("note: " + note) }
    } else {
      devices = try list.split(separator: ",").map { try registry.device(named: String($0)) }
    }
    let prompts = arguments.all("--prompt").isEmpty ? ["The capital of France is"] : arguments.all("--prompt")
    var sections: [String] = []
    for prompt in prompts {
      let tokens = try model.tokenizer.encode(prompt)
      let result = try ParityRunner.run(
        model: model, reference: reference, devices: devices, prompt: tokens, steps: steps, progress: printError)
      print(
        "\nprompt: \(prompt.debugDescription) (\(tokens.count) tokens); reference continues: \(result.referenceText.debugDescription)"
      )
      print(Table(header: ParityReport.header, rows: ParityReport.cells(result)).text)
      print("\nmemory each device holds for the model, as its store counts its allocations:")
      print(Table(header: ParityReport.memoryHeader, rows: ParityReport.memoryCells(result)).text)
      print(ParityReport.peakLine(result))
      sections.append(ParityReport.html(result, title: "Parity: \(prompt)"))
    }
    if let path = arguments.value("--report") {
      try sections.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
      print("\nwrote \(path)")
    }
  }
}
