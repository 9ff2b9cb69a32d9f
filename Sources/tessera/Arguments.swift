/// A command-line mistake: printed with the usage hint and exit code 2.
struct UsageError: Error, CustomStringConvertible {
  var description: String
}

/// One option a subcommand accepts.
struct OptionSpec {
  /// `--device`.
  var name: String
  /// `D` for options that take a value; `nil` for flags.
  var valueName: String?
  /// One line of help.
  var help: String
  /// May be given more than once (`--input`).
  var repeatable = false
  /// A one-letter spelling (`-o`), if any.
  var short: String? = nil
}

/// A subcommand's interface: its name, what it does, its positional arguments and options.
struct CommandSpec {
  var name: String
  var summary: String
  var positionals: [(name: String, help: String)]
  var options: [OptionSpec]
  var examples: [String] = []
  /// Flags that make the command do without its positional arguments (`--list-ops`).
  var standaloneFlags: [String] = []

  /// The text `--help` prints.
  var help: String {
    var lines = [
      "tessera \(name) — \(summary)", "",
      "USAGE: tessera \(name)" + positionals.map { " \($0.name)" }.joined() + (options.isEmpty ? "" : " [options]"),
    ]
    if !positionals.isEmpty {
      lines += ["", "ARGUMENTS:"] + positionals.map { "  \($0.name.padding(24))\($0.help)" }
    }
    lines += ["", "OPTIONS:"]
    for option in options + [OptionSpec(name: "--help", help: "Show this help.")] {
      let flag = (option.short.map { $0 + ", " } ?? "") + option.name + (option.valueName.map { " " + $0 } ?? "")
      lines.append("  \(flag.padding(24))\(option.help)" + (option.repeatable ? " (repeatable)" : ""))
    }
    if !examples.isEmpty { lines += ["", "EXAMPLES:"] + examples.map { "  " + $0 } }
    return lines.joined(separator: "\n")
  }

  /// Splits `arguments` into positionals and option values; `--name=value` is accepted.
  func parse(_ arguments: [String]) throws(UsageError) -> ParsedArguments {
    var parsed = ParsedArguments()
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      if let option = options.first(where: { $0.short != nil && $0.short == argument }) {
        guard index < arguments.count else { throw UsageError(description: "\(argument) needs a value") }
        parsed.values[option.name, default: []].append(arguments[index])
        index += 1
        continue
      }
      guard argument.hasPrefix("--"), argument.count > 2 else {
        parsed.positionals.append(argument)
        continue
      }
      if argument == "--help" {
        parsed.wantsHelp = true
        continue
      }
      let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
      guard let option = options.first(where: { $0.name == parts[0] }) else {
        throw UsageError(
          description: "unknown option '\(parts[0])' for 'tessera \(name)' (see 'tessera \(name) --help')")
      }
      guard option.valueName != nil else {
        if parts.count > 1 { throw UsageError(description: "\(option.name) takes no value") }
        parsed.flags.insert(option.name)
        continue
      }
      var value: String
      if parts.count > 1 {
        value = parts[1]
      } else {
        guard index < arguments.count else {
          throw UsageError(description: "\(option.name) needs a value (\(option.valueName!))")
        }
        value = arguments[index]
        index += 1
      }
      if !option.repeatable && parsed.values[option.name] != nil {
        throw UsageError(description: "\(option.name) is given more than once")
      }
      parsed.values[option.name, default: []].append(value)
    }
    let standalone = standaloneFlags.contains { parsed.flags.contains($0) } && parsed.positionals.isEmpty
    if !parsed.wantsHelp && !standalone && parsed.positionals.count != positionals.count {
      let expected = positionals.map(\.name).joined(separator: " ")
      throw UsageError(
        description: parsed.positionals.count < positionals.count
          ? "missing argument: tessera \(name) \(expected)"
          : "unexpected argument '\(parsed.positionals[positionals.count])' for 'tessera \(name)'")
    }
    return parsed
  }
}

/// What the command line said.
struct ParsedArguments {
  var positionals: [String] = []
  var values: [String: [String]] = [:]
  var flags: Set<String> = []
  var wantsHelp = false

  /// The single value of `option`, if given.
  func value(_ option: String) -> String? { values[option]?.last }

  /// Every value of a repeatable option.
  func all(_ option: String) -> [String] { values[option] ?? [] }

  /// An integer option, with an error naming the option when it is not a number.
  func integer(_ option: String) throws(UsageError) -> Int? {
    guard let text = value(option) else { return nil }
    guard let number = Int(text) else { throw UsageError(description: "\(option) expects an integer, found '\(text)'") }
    return number
  }
}

extension String {
  /// Left-aligns in a column of `width`.
  func padding(_ width: Int) -> String {
    count >= width ? self + " " : self + String(repeating: " ", count: width - count)
  }
}
