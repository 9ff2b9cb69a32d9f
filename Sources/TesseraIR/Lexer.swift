/// One token of `.tir` text.
struct Token: Equatable {
  enum Kind: Equatable {
    case percentName(String)  // %x
    case atName(String)  // @mlp
    case word(String)  // func, matmul, f32, true, lt
    case integer(Int)
    case float(Double)
    case hexBytes([UInt8])  // 0x00ff…
    case punct(String)  // ( ) [ ] { } , : = ->
    case end
  }
  var kind: Kind
  var location: SourceLocation

  /// How the token reads in an error message.
  var display: String {
    switch kind {
    case .percentName(let name): "'%\(name)'"
    case .atName(let name): "'@\(name)'"
    case .word(let word): "'\(word)'"
    case .integer(let value): "'\(value)'"
    case .float(let value): "'\(value)'"
    case .hexBytes: "a hex literal"
    case .punct(let text): "'\(text)'"
    case .end: "end of file"
    }
  }
}

/// Splits `.tir` text into tokens, tracking line and column.
struct Lexer {
  private let scalars: [Unicode.Scalar]
  private let file: String
  private var position = 0
  private var line = 1
  private var column = 1

  init(text: String, file: String) {
    scalars = Array(text.unicodeScalars)
    self.file = file
  }

  mutating func tokenize() throws(IRError) -> [Token] {
    var tokens: [Token] = []
    while true {
      let token = try next()
      tokens.append(token)
      if token.kind == .end { return tokens }
    }
  }

  private var here: SourceLocation { SourceLocation(file: file, line: line, column: column) }

  private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
    position + offset < scalars.count ? scalars[position + offset] : nil
  }

  private mutating func advance() {
    if scalars[position] == "\n" {
      line += 1
      column = 1
    } else {
      column += 1
    }
    position += 1
  }

  private mutating func skipTrivia() {
    while let scalar = peek() {
      if scalar.properties.isWhitespace {
        advance()
      } else if scalar == "/" && peek(1) == "/" {
        while let c = peek(), c != "\n" { advance() }
      } else {
        return
      }
    }
  }

  private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
    scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "."
  }

  private mutating func name() -> String {
    var text = ""
    while let scalar = peek(), Self.isNameScalar(scalar) {
      text.unicodeScalars.append(scalar)
      advance()
    }
    return text
  }

  private mutating func next() throws(IRError) -> Token {
    skipTrivia()
    let start = here
    guard let scalar = peek() else { return Token(kind: .end, location: start) }
    switch scalar {
    case "%", "@":
      advance()
      let text = name()
      guard !text.isEmpty else {
        throw .syntax(start, expected: "a name after '\(scalar)'", found: peek().map { "'\($0)'" } ?? "end of file")
      }
      return Token(kind: scalar == "%" ? .percentName(text) : .atName(text), location: start)
    case "(", ")", "[", "]", "{", "}", ",", ":", "=":
      advance()
      return Token(kind: .punct(String(scalar)), location: start)
    case "-" where peek(1) == ">":
      advance()
      advance()
      return Token(kind: .punct("->"), location: start)
    case "0" where peek(1) == "x":
      return try hexLiteral(start)
    case "-", "+", "0"..."9":
      return try number(start)
    default:
      if scalar.properties.isAlphabetic || scalar == "_" {
        return Token(kind: .word(name()), location: start)
      }
      throw .syntax(start, expected: "a token", found: "'\(scalar)'")
    }
  }

  private mutating func number(_ start: SourceLocation) throws(IRError) -> Token {
    var text = ""
    if let sign = peek(), sign == "-" || sign == "+" {
      text.unicodeScalars.append(sign)
      advance()
    }
    if let scalar = peek(), scalar.properties.isAlphabetic {  // -inf, +inf, -nan
      let word = name()
      switch word {
      case "inf": return Token(kind: .float(text == "-" ? -.infinity : .infinity), location: start)
      case "nan": return Token(kind: .float(.nan), location: start)
      default: throw .syntax(start, expected: "a number", found: "'\(text)\(word)'")
      }
    }
    while let scalar = peek(),
      ("0"..."9").contains(scalar) || scalar == "." || scalar == "e" || scalar == "E"
        || ((scalar == "-" || scalar == "+") && (text.last == "e" || text.last == "E"))
    {
      text.unicodeScalars.append(scalar)
      advance()
    }
    if let scalar = peek(), Self.isNameScalar(scalar) {
      throw .syntax(start, expected: "a number", found: "'\(text)\(name())'")
    }
    if let integer = Int(text) { return Token(kind: .integer(integer), location: start) }
    if let value = Double(text), text.contains(where: { $0.isNumber }) {
      return Token(kind: .float(value), location: start)
    }
    throw .syntax(start, expected: "a number", found: "'\(text)'")
  }

  private mutating func hexLiteral(_ start: SourceLocation) throws(IRError) -> Token {
    advance()
    advance()
    let digits = name()
    guard digits.count % 2 == 0, digits.allSatisfy({ $0.isASCII && $0.isHexDigit }) else {
      throw .syntax(start, expected: "an even number of hex digits after '0x'", found: "'0x\(digits)'")
    }
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
      let next = digits.index(index, offsetBy: 2)
      bytes.append(UInt8(digits[index..<next], radix: 16)!)
      index = next
    }
    return Token(kind: .hexBytes(bytes), location: start)
  }
}
