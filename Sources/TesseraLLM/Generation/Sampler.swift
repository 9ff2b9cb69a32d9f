import Foundation
import TesseraRuntime

/// Chooses tokens from logits: repetition penalty, then greedy argmax, or temperature, top-k,
/// top-p and a seeded random draw.
public struct Sampler: Sendable {
  /// The settings.
  public let options: SamplingOptions
  private var random: SeededRandom

  /// Creates a sampler; the same options and seed give the same choices.
  public init(options: SamplingOptions) {
    self.options = options
    random = SeededRandom(seed: options.seed)
  }

  /// The next token given `logits` and the tokens of the sequence so far.
  public mutating func next(logits: [Float], history: [Int]) -> Int {
    var scores = logits.map(Double.init)
    if options.repetitionPenalty != 1 {
      for token in Set(history) where scores.indices.contains(token) {
        scores[token] =
          scores[token] > 0 ? scores[token] / options.repetitionPenalty : scores[token] * options.repetitionPenalty
      }
    }
    if options.greedy || options.temperature <= 0 { return Self.argmax(scores) }
    let candidates = Self.mostLikely(scores, count: options.topK > 0 ? options.topK : scores.count)
    let peak = scores[candidates[0]]
    var probabilities = candidates.map { Foundation.exp((scores[$0] - peak) / options.temperature) }
    let total = probabilities.reduce(0, +)
    probabilities = probabilities.map { $0 / total }
    var kept = 0, mass = 0.0
    while kept < candidates.count && (kept == 0 || mass < options.topP) {
      mass += probabilities[kept]
      kept += 1
    }
    let draw = Double.random(in: 0..<mass, using: &random)
    var cumulative = 0.0
    for index in 0..<kept {
      cumulative += probabilities[index]
      if draw < cumulative { return candidates[index] }
    }
    return candidates[kept - 1]
  }

  /// The indices of the `count` highest scores, highest first (the lower index first on ties):
  /// a full sort when every score is kept, else one pass that keeps the best `count` in order,
  /// which for top-k over a vocabulary compares most scores once instead of sorting them all.
  public static func mostLikely(_ scores: [Double], count: Int) -> [Int] {
    func before(_ a: Int, _ b: Int) -> Bool { scores[a] > scores[b] || (scores[a] == scores[b] && a < b) }
    guard count < scores.count else { return scores.indices.sorted(by: before) }
    var best: [Int] = []
    best.reserveCapacity(count + 1)
    for index in scores.indices where best.count < count || before(index, best[best.count - 1]) {
      var low = 0, high = best.count
      while low < high {
        let middle = (low + high) / 2
        if before(best[middle], index) { low = middle + 1 } else { high = middle }
      }
      best.insert(index, at: low)
      if best.count > count { best.removeLast() }
    }
    return best
  }

  /// The index of the first maximum.
  public static func argmax(_ values: [Double]) -> Int {
    var best = 0
    for index in values.indices where values[index] > values[best] { best = index }
    return best
  }
}
