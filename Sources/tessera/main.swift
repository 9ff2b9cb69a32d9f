import Foundation
import Tessera

/// A subcommand of `tessera`.
protocol Command {
  static var spec: CommandSpec { get }
  static func run(_ arguments: ParsedArguments) throws
}

let commands: [any Command.Type] = [
  DevicesCommand.self, VerifyCommand.self, PrintCommand.self, RunCommand.self, CompileCommand.self,
  GenerateCommand.self,
  ParityCommand.self, ImportCommand.self, TuneCommand.self,
]

let topLevelHelp = """
  tessera — one tensor IR, one graph compiler, interchangeable targets.

  USAGE: tessera <command> [arguments] [options]

  COMMANDS:
  \(commands.map { "  \($0.spec.name.padding(10))\($0.spec.summary)" }.joined(separator: "\n"))

  Run 'tessera <command> --help' for a command's options.
  """

/// Prints to standard error.
func printError(_ message: String) {
  FileHandle.standardError.write(Data((message + "\n").utf8))
}

@MainActor func main() -> Int32 {
  var arguments = Array(CommandLine.arguments.dropFirst())
  guard let name = arguments.first, name != "--help", name != "-h", name != "help" else {
    print(topLevelHelp)
    return arguments.isEmpty ? 2 : 0
  }
  arguments.removeFirst()
  guard let command = commands.first(where: { $0.spec.name == name }) else {
    printError("error: unknown command '\(name)'\n\n" + topLevelHelp)
    return 2
  }
  do {
    let parsed = try command.spec.parse(arguments)
    if parsed.wantsHelp {
      print(command.spec.help)
      return 0
    }
    try Observation.around(parsed) { try command.run(parsed) }
    return 0
  } catch {
    printError("error: \(error)")
    return 2
  }
}

exit(main())
