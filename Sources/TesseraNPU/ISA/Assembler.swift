/// Text → instructions. `.npuasm` has one instruction per line, optional `label:` prefixes,
/// comments from `;` or `//` to the end of the line, registers `x0`…`x31`, decimal or `0x`
/// immediates, and branch targets given as a label or an absolute instruction index.
public enum Assembler {
  /// Assembles `source`; the first error names its line and column.
  public static func assemble(_ source: String) throws(NPUError) -> [Instruction] {
    let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var labels: [String: Int] = [:]
    var statements: [(line: Int, tokens: [Token])] = []
    for (index, text) in lines.enumerated() {
      var tokens = tokenize(text)
      while tokens.count >= 2, tokens[1].text == ":" {
        let label = tokens[0]
        guard label.text.first.map({ $0.isLetter || $0 == "_" }) == true else {
          throw .assembly(
            line: index + 1, column: label.column, message: "a label must start with a letter: '\(label.text)'")
        }
        guard labels[label.text] == nil else {
          throw .assembly(line: index + 1, column: label.column, message: "label '\(label.text)' is defined twice")
        }
        labels[label.text] = statements.count
        tokens.removeFirst(2)
      }
      if !tokens.isEmpty { statements.append((index + 1, tokens)) }
    }
    var program: [Instruction] = []
    for statement in statements {
      var parser = StatementParser(line: statement.line, tokens: statement.tokens, labels: labels)
      program.append(try parser.parse())
    }
    return program
  }

  /// Assembles `source` into binary words (little-endian bytes).
  public static func binary(_ source: String) throws(NPUError) -> [UInt8] {
    Encoding.bytes(try assemble(source))
  }

  struct Token {
    var text: String
    var column: Int
  }

  /// Words, numbers and the punctuation `,` and `:`; comments dropped.
  static func tokenize(_ line: String) -> [Token] {
    var tokens: [Token] = []
    var current = "", start = 0
    let characters = Array(line)
    func flush() {
      if !current.isEmpty { tokens.append(Token(text: current, column: start + 1)) }
      current = ""
    }
    var index = 0
    while index < characters.count {
      let c = characters[index]
      if c == ";" || (c == "/" && index + 1 < characters.count && characters[index + 1] == "/") { break }
      if c == "," || c == ":" {
        flush()
        tokens.append(Token(text: String(c), column: index + 1))
      } else if c == " " || c == "\t" || c == "\r" {
        flush()
      } else {
        if current.isEmpty { start = index }
        current.append(c)
      }
      index += 1
    }
    flush()
    return tokens
  }
}

/// Parses the operands of one statement against its mnemonic.
private struct StatementParser {
  let line: Int
  let tokens: [Assembler.Token]
  let labels: [String: Int]
  var position = 1

  init(line: Int, tokens: [Assembler.Token], labels: [String: Int]) {
    self.line = line
    self.tokens = tokens
    self.labels = labels
  }

  func error(_ message: String, at token: Assembler.Token? = nil) -> NPUError {
    let column = token?.column ?? (tokens.last.map { $0.column + $0.text.count } ?? 1)
    return .assembly(line: line, column: column, message: message)
  }

  mutating func parse() throws(NPUError) -> Instruction {
    let head = tokens[0]
    let parts = head.text.lowercased().split(separator: ".").map(String.init)
    let instruction = try instruction(parts, head)
    if position < tokens.count {
      throw error("unexpected '\(tokens[position].text)' after the operands", at: tokens[position])
    }
    return instruction
  }

  private mutating func instruction(_ parts: [String], _ head: Assembler.Token) throws(NPUError) -> Instruction {
    guard let mnemonic = parts.first else { throw error("unknown instruction '\(head.text)'", at: head) }
    func plain() throws(NPUError) {
      guard parts.count == 1 else { throw error("'\(mnemonic)' takes no suffix", at: head) }
    }
    if let op = ScalarOp.allCases.first(where: { "\($0)" == mnemonic }) {
      try plain()
      let rd = try register()
      let ra = try register(comma: true)
      return .alu(op, rd: rd, ra: ra, rb: try register(comma: true))
    }
    if let condition = BranchCondition.allCases.first(where: { "\($0)" == mnemonic }) {
      try plain()
      let ra = try register()
      let rb = try register(comma: true)
      return .branch(condition, ra: ra, rb: rb, target: try target())
    }
    if mnemonic.hasPrefix("vred"), let function = VectorReduction.allCases.first(where: { "vred\($0)" == mnemonic }) {
      try plain()
      let registers = try registerList(4)
      return .vreduce(function, d: registers[0], a: registers[1], rows: registers[2], cols: registers[3])
    }
    if let function = VectorBinary.allCases.first(where: { "v\($0)" == mnemonic }) {
      try plain()
      let registers = try registerList(4)
      return .vbinary(function, d: registers[0], a: registers[1], b: registers[2], n: registers[3])
    }
    if let function = VectorUnary.allCases.first(where: { "v\($0)" == mnemonic }) {
      try plain()
      let registers = try registerList(3)
      return .vunary(function, d: registers[0], a: registers[1], n: registers[2])
    }
    switch mnemonic {
    case "li":
      try plain()
      let rd = try register()
      return .li(rd: rd, imm: try immediate(comma: true))
    case "addi", "ldg":
      try plain()
      let rd = try register()
      let rs = try register(comma: true)
      let imm = try immediate(comma: true)
      return mnemonic == "addi" ? .addi(rd: rd, rs: rs, imm: imm) : .loadGlobal(rd: rd, rs: rs, imm: imm)
    case "trap":
      try plain()
      return .trap(code: try immediate(comma: false))
    case "jmp":
      try plain()
      return .jump(target: try target(comma: false))
    case "halt":
      try plain()
      return .halt
    case "barrier":
      try plain()
      return .barrier
    case "set_flag", "wait_flag":
      try plain()
      let from = try unit()
      let to = try unit(comma: true)
      let id = try immediate(comma: true)
      guard (0..<16).contains(id) else { throw error("flag id \(id) is outside 0…15", at: tokens[position - 1]) }
      return mnemonic == "set_flag"
        ? .setFlag(from: from, to: to, id: UInt8(id)) : .waitFlag(from: from, to: to, id: UInt8(id))
    case "dma":
      guard parts.count == 4, let route = DMARoute.allCases.first(where: { "\($0)" == parts[1] }),
        let from = NPUElement.allCases.first(where: { "\($0)" == parts[2] }),
        let to = NPUElement.allCases.first(where: { "\($0)" == parts[3] })
      else {
        throw error(
          "expected dma.ROUTE.FROM.TO with ROUTE one of \(DMARoute.allCases.map { "\($0)" }.joined(separator: ", ")) and types f32, f16, i8, i32",
          at: head)
      }
      return .dma(route, from: from, to: to, descriptor: try register())
    case "mmad":
      guard (2...3).contains(parts.count), parts[1] == "f16" || parts[1] == "i8",
        parts.count == 2 || parts[2] == "acc"
      else { throw error("expected mmad.f16, mmad.i8, mmad.f16.acc or mmad.i8.acc", at: head) }
      let registers = try registerList(6)
      return .mmad(
        parts[1] == "i8" ? .i8 : .f16, accumulate: parts.count == 3, c: registers[0], a: registers[1],
        b: registers[2], m: registers[3], k: registers[4], n: registers[5])
    case "vdup":
      try plain()
      let registers = try registerList(3)
      return .vdup(d: registers[0], bits: registers[1], n: registers[2])
    case "vcmp":
      guard parts.count == 2, let kind = VectorComparison.allCases.first(where: { "\($0)" == parts[1] }) else {
        throw error("expected vcmp.KIND with KIND one of \(VectorComparison.allCases.map { "\($0)" })", at: head)
      }
      let registers = try registerList(4)
      return .vcompare(kind, d: registers[0], a: registers[1], b: registers[2], n: registers[3])
    case "viota":
      try plain()
      let registers = try registerList(2)
      return .viota(d: registers[0], n: registers[1])
    case "vsel":
      try plain()
      let registers = try registerList(5)
      return .vselect(d: registers[0], mask: registers[1], a: registers[2], b: registers[3], n: registers[4])
    case "vdeq":
      guard parts.count == 2, let format = QuantFormat.allCases.first(where: { "\($0)" == parts[1] }) else {
        throw error("expected vdeq.FORMAT with FORMAT one of \(QuantFormat.allCases.map(\.description))", at: head)
      }
      let registers = try registerList(3)
      return .vdequant(format, d: registers[0], a: registers[1], blocks: registers[2])
    default:
      throw error("unknown instruction '\(head.text)'", at: head)
    }
  }

  private mutating func next(_ what: String, comma: Bool) throws(NPUError) -> Assembler.Token {
    if comma {
      guard position < tokens.count, tokens[position].text == "," else {
        throw error("expected ',' before \(what)", at: position < tokens.count ? tokens[position] : nil)
      }
      position += 1
    }
    guard position < tokens.count, tokens[position].text != "," else {
      throw error("expected \(what)", at: position < tokens.count ? tokens[position] : nil)
    }
    position += 1
    return tokens[position - 1]
  }

  private mutating func register(comma: Bool = false) throws(NPUError) -> Register {
    let token = try next("a register x0…x31", comma: comma)
    guard token.text.lowercased().hasPrefix("x"), let index = Int(token.text.dropFirst()), (0..<32).contains(index)
    else {
      throw error("expected a register x0…x31, found '\(token.text)'", at: token)
    }
    return Register(index)
  }

  private mutating func registerList(_ count: Int) throws(NPUError) -> [Register] {
    var registers: [Register] = []
    for index in 0..<count { registers.append(try register(comma: index > 0)) }
    return registers
  }

  private mutating func immediate(comma: Bool) throws(NPUError) -> Int32 {
    let token = try next("an immediate", comma: comma)
    guard let value = Self.integer(token.text) else {
      throw error("expected an integer, found '\(token.text)'", at: token)
    }
    guard let narrow = Int32(exactly: value) else {
      throw error("immediate \(token.text) does not fit in 32 signed bits", at: token)
    }
    return narrow
  }

  private mutating func target(comma: Bool = true) throws(NPUError) -> Int32 {
    let token = try next("a label or instruction index", comma: comma)
    if let index = Self.integer(token.text), let narrow = Int32(exactly: index), index >= 0 { return narrow }
    guard let index = labels[token.text] else { throw error("undefined label '\(token.text)'", at: token) }
    return Int32(index)
  }

  private mutating func unit(comma: Bool = false) throws(NPUError) -> NPUUnit {
    let token = try next("a unit", comma: comma)
    guard let unit = NPUUnit.allCases.first(where: { "\($0)" == token.text.lowercased() }) else {
      throw error(
        "unknown unit '\(token.text)' (units: \(NPUUnit.allCases.map { "\($0)" }.joined(separator: ", ")))", at: token)
    }
    return unit
  }

  static func integer(_ text: String) -> Int64? {
    let negative = text.hasPrefix("-")
    let body = negative ? String(text.dropFirst()) : text
    let magnitude = body.lowercased().hasPrefix("0x") ? Int64(body.dropFirst(2), radix: 16) : Int64(body)
    guard let magnitude, negative else { return magnitude }
    let (value, overflow) = Int64(0).subtractingReportingOverflow(magnitude)  // "--9223372036854775808"
    return overflow ? nil : value
  }
}
