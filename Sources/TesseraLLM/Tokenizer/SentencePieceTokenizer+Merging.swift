extension SentencePieceTokenizer {
  /// One piece of the text being merged: bytes `start..<(start + length)`, linked to its
  /// neighbours (-1: none). A piece merged into its left neighbour has length 0.
  private struct Symbol {
    var start: Int
    var length: Int
    var previous: Int
    var next: Int
  }

  /// A neighbouring pair, starting at symbol `left`, whose `length` bytes make a token of
  /// `score`. The highest score sorts first, then the leftmost pair.
  private struct Candidate: Comparable {
    var score: Float
    var left: Int
    var length: Int

    static func < (a: Candidate, b: Candidate) -> Bool {
      a.score > b.score || (a.score == b.score && a.left < b.left)
    }
  }

  /// The pieces of `text` (UTF-8) once its scalars are merged, best-scored pair first, until no
  /// neighbouring pair makes a token. A queue of candidate pairs keeps this O(n log n); a pair
  /// made stale by an earlier merge is skipped when it comes out.
  func mergedPieces(_ text: [UInt8]) -> [String] {
    var symbols: [Symbol] = []
    for (index, byte) in text.enumerated() where byte & 0xC0 != 0x80 {
      if !symbols.isEmpty { symbols[symbols.count - 1].length = index - symbols[symbols.count - 1].start }
      symbols.append(Symbol(start: index, length: text.count - index, previous: symbols.count - 1, next: -1))
      if symbols.count > 1 { symbols[symbols.count - 2].next = symbols.count - 1 }
    }
    func piece(_ start: Int, _ length: Int) -> String {
      String(decoding: text[start..<(start + length)], as: UTF8.self)
    }
    var queue = PriorityQueue<Candidate>()
    func consider(_ left: Int) {
      guard left >= 0, case let right = symbols[left].next, right >= 0 else { return }
      let length = symbols[left].length + symbols[right].length
      if let id = pieceIDs[piece(symbols[left].start, length)] {
        queue.push(Candidate(score: scores[id], left: left, length: length))
      }
    }
    for index in symbols.indices { consider(index) }
    while let best = queue.pop() {
      let left = symbols[best.left]
      guard left.length > 0, left.next >= 0, left.length + symbols[left.next].length == best.length else { continue }
      let right = symbols[left.next]
      symbols[best.left].length = best.length
      symbols[best.left].next = right.next
      if right.next >= 0 { symbols[right.next].previous = best.left }
      symbols[left.next].length = 0
      consider(left.previous)
      consider(best.left)
    }
    return symbols.filter { $0.length > 0 }.map { piece($0.start, $0.length) }
  }
}
