/// Splits text into the words BPE runs on, as GPT-2's pattern does:
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
///
/// Contractions come off as their own words; letters, digits and other symbols form runs that
/// carry one leading space; a run of whitespace keeps its last character for the next word.
/// With ``Style/individualDigits`` (SmolLM's `smollm` pre-tokenizer) every digit is first cut out
/// as a word of its own, and the pattern runs on the pieces between them. ``Style/llama3`` and
/// ``Style/qwen2`` use Llama 3's pattern instead (see `PreTokenizer+Llama3.swift`).
public struct PreTokenizer: Sendable, Hashable {
  /// Which pattern splits the text.
  public enum Style: Sendable, Hashable {
    /// GPT-2: digits form runs like letters.
    case gpt2
    /// GPT-2 after every digit is cut out as a word of its own (`smollm`).
    case individualDigits
    /// Llama 3 (`llama3`, `llama-v3`, `llama-bpe`): case-insensitive contractions, one
    /// non-letter glued before letters, digits in runs of at most three, newlines kept apart.
    case llama3
    /// Qwen 2 (`qwen2`): Llama 3's pattern with every digit a word of its own.
    case qwen2
  }

  /// The splitting style.
  public var style: Style

  /// Creates a pre-tokenizer.
  public init(style: Style) { self.style = style }

  /// The style for GGUF's `tokenizer.ggml.pre` name; no name, `default`, `gpt2` and `gpt-2` are
  /// GPT-2's pattern. Any other name is ``TokenizerError/unsupportedPreTokenizer(_:)``.
  public init(ggufName: String?) throws(TokenizerError) {
    switch ggufName ?? "default" {
    case "default", "gpt2", "gpt-2": style = .gpt2
    case "smollm": style = .individualDigits
    case "llama3", "llama-v3", "llama-bpe": style = .llama3
    case "qwen2": style = .qwen2
    case let name: throw .unsupportedPreTokenizer(name)
    }
  }

  /// The `tokenizer.ggml.pre` names ``init(ggufName:)`` accepts, for error messages.
  public static let supportedNames = "default, gpt2, gpt-2, smollm, llama3, llama-v3, llama-bpe, qwen2"

  /// The words of `text`, in order; joined they give `text` back.
  public func split(_ text: String) -> [String] {
    let scalars = Array(text.unicodeScalars)
    switch style {
    case .gpt2: return Self.gpt2Words(scalars[...])
    case .llama3: return Self.llama3Words(scalars, digitRun: 3)
    case .qwen2: return Self.llama3Words(scalars, digitRun: 1)
    case .individualDigits: break
    }
    var words: [String] = []
    var start = 0
    for (index, scalar) in scalars.enumerated() where Self.isNumber(scalar) {
      words += Self.gpt2Words(scalars[start..<index])
      words.append(String(scalar))
      start = index + 1
    }
    return words + Self.gpt2Words(scalars[start...])
  }

  /// The words of `scalars[...]` cut by `wordEnd(scalars, start)`.
  static func words(
    _ scalars: ArraySlice<Unicode.Scalar>, _ wordEnd: (ArraySlice<Unicode.Scalar>, Int) -> Int
  ) -> [String] {
    var words: [String] = []
    var index = scalars.startIndex
    while index < scalars.endIndex {
      let end = wordEnd(scalars, index)
      var word = String.UnicodeScalarView()
      word.append(contentsOf: scalars[index..<end])
      words.append(String(word))
      index = end
    }
    return words
  }

  private static func gpt2Words(_ scalars: ArraySlice<Unicode.Scalar>) -> [String] {
    words(scalars) { wordEnd($0, from: $1) }
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
    return spaceRunEnd(s, from: start)
  }

  /// `\s+(?!\S)|\s+` from `start`: the run of whitespace, leaving its last character to the
  /// next word when a non-space follows.
  static func spaceRunEnd(_ s: ArraySlice<Unicode.Scalar>, from start: Int) -> Int {
    var index = start
    while index < s.endIndex && isSpace(s[index]) { index += 1 }
    return index == s.endIndex || index - start == 1 ? index : index - 1
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
