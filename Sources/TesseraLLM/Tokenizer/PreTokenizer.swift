/// Splits text into the words BPE runs on, as GPT-2's pattern does:
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
///
/// Contractions come off as their own words; letters, digits and other symbols form runs that
/// carry one leading space; a run of whitespace keeps its last character for the next word.
/// With ``Style/individualDigits`` (SmolLM's `smollm` pre-tokenizer) every digit is first cut out
/// as a word of its own, and the pattern runs on the pieces between them.
public struct PreTokenizer: Sendable, Hashable {
  /// How numbers are split.
  public enum Style: Sendable, Hashable {
    /// GPT-2: digits form runs like letters.
    case gpt2
    /// Every digit is a word of its own (the `smollm` and `llama3`-style digit split).
    case individualDigits
  }

  /// The splitting style.
  public var style: Style

  /// Creates a pre-tokenizer.
  public init(style: Style) { self.style = style }

  /// The style for GGUF's `tokenizer.ggml.pre` name (`smollm` splits digits; others as GPT-2).
  public init(ggufName: String?) { style = ggufName == "smollm" ? .individualDigits : .gpt2 }

  /// The words of `text`, in order; joined they give `text` back.
  public func split(_ text: String) -> [String] {
    let scalars = Array(text.unicodeScalars)
    guard style == .individualDigits else { return Self.gpt2Words(scalars[...]) }
    var words: [String] = []
    var start = 0
    for (index, scalar) in scalars.enumerated() where Self.isNumber(scalar) {
      words += Self.gpt2Words(scalars[start..<index])
      words.append(String(scalar))
      start = index + 1
    }
    return words + Self.gpt2Words(scalars[start...])
  }

  private static func gpt2Words(_ scalars: ArraySlice<Unicode.Scalar>) -> [String] {
    var words: [String] = []
    var index = scalars.startIndex
    while index < scalars.endIndex {
      let end = wordEnd(scalars, from: index)
      var word = String.UnicodeScalarView()
      word.append(contentsOf: scalars[index..<end])
      words.append(String(word))
      index = end
    }
    return words
  }

  /// Where the word starting at `start` ends, trying the pattern's alternatives in order.
  private static func wordEnd(_ s: ArraySlice<Unicode.Scalar>, from start: Int) -> Int {
    let end = s.endIndex
    if s[start] == "'" && start + 1 < end {
      if "stmd".unicodeScalars.contains(s[start + 1]) { return start + 2 }
      if start + 2 < end, ["re", "ve", "ll"].contains(String(s[start + 1]) + String(s[start + 2])) {
        return start + 3
      }
    }
    let body = s[start] == " " && start + 1 < end ? start + 1 : start
    for run in [isLetter, isNumber, isOther] as [(Unicode.Scalar) -> Bool] where run(s[body]) {
      var index = body
      while index < end && run(s[index]) { index += 1 }
      return index
    }
    var index = start
    while index < end && isSpace(s[index]) { index += 1 }
    // `\s+(?!\S)`: before a non-space, leave the run's last character to the next word.
    return index == end || index - start == 1 ? index : index - 1
  }

  static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
    default: false
    }
  }

  static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .decimalNumber, .letterNumber, .otherNumber: true
    default: false
    }
  }

  static func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.isWhitespace }

  static func isOther(_ scalar: Unicode.Scalar) -> Bool { !isLetter(scalar) && !isNumber(scalar) && !isSpace(scalar) }
}
