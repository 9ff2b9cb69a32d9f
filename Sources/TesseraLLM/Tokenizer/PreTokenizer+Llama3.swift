extension PreTokenizer {
  /// The words of `scalars` by Llama 3's pattern, with digit runs of at most `digitRun` (3 for
  /// Llama 3, 1 for Qwen 2): `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
  /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
  static func llama3Words(_ scalars: [Unicode.Scalar], digitRun: Int) -> [String] {
    words(scalars[...]) { llama3WordEnd($0, from: $1, digitRun: digitRun) }
  }

  /// Where the word starting at `start` ends, trying the pattern's alternatives in order.
  private static func llama3WordEnd(_ s: ArraySlice<Unicode.Scalar>, from start: Int, digitRun: Int) -> Int {
    let end = s.endIndex
    if let contraction = contractionEnd(s, from: start) { return contraction }
    // `[^\r\n\p{L}\p{N}]?\p{L}+`: letters, after at most one character that is none of those.
    let glued = !isLetter(s[start]) && !isNumber(s[start]) && !isNewline(s[start]) && start + 1 < end
    let letters = glued ? start + 1 : start
    if isLetter(s[letters]) { return run(s, from: letters, while: isLetter) }
    if isNumber(s[start]) { return Swift.min(run(s, from: start, while: isNumber), start + digitRun) }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`: symbols after an optional space, then any newlines.
    let symbols = s[start] == " " && start + 1 < end ? start + 1 : start
    if isOther(s[symbols]) { return run(s, from: run(s, from: symbols, while: isOther), while: isNewline) }
    // `\s*[\r\n]+`: whitespace up to and including its last newline.
    let spaces = run(s, from: start, while: isSpace)
    if let newline = (start..<spaces).last(where: { isNewline(s[$0]) }) { return newline + 1 }
    return spaceRunEnd(s, from: start)
  }

  /// The end of `'s`, `'t`, `'re`, `'ve`, `'m`, `'ll` or `'d` (any case) at `start`, if one is there.
  private static func contractionEnd(_ s: ArraySlice<Unicode.Scalar>, from start: Int) -> Int? {
    guard s[start] == "'", start + 1 < s.endIndex else { return nil }
    let next = String(s[start + 1]).lowercased()
    if ["s", "t", "m", "d"].contains(next) { return start + 2 }
    guard start + 2 < s.endIndex else { return nil }
    return ["re", "ve", "ll"].contains(next + String(s[start + 2]).lowercased()) ? start + 3 : nil
  }

  /// The first index from `start` where `test` fails (or the end).
  private static func run(
    _ s: ArraySlice<Unicode.Scalar>, from start: Int, while test: (Unicode.Scalar) -> Bool
  ) -> Int {
    var index = start
    while index < s.endIndex && test(s[index]) { index += 1 }
    return index
  }

  static func isNewline(_ scalar: Unicode.Scalar) -> Bool { scalar == "\r" || scalar == "\n" }
}
