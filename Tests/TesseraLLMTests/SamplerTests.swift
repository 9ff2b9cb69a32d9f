import Tessera
import Testing

@Suite("The sampler")
struct SamplerTests {
  /// Scores with few distinct values, so that ties are common.
  private static func scores(count: Int, seed: UInt64) -> [Double] {
    var random = SeededRandom(seed: seed)
    return (0..<count).map { _ in Double(Int.random(in: -6..<6, using: &random)) }
  }

  @Test("the most likely tokens are a full sort's first, ties by lower index", arguments: [1, 3, 40, 99, 100, 150])
  func mostLikely(count: Int) {
    let scores = Self.scores(count: 100, seed: 3)
    // Independently: order by (score, -index) descending, as tuples compare.
    let sorted = scores.indices.sorted { (scores[$0], -$0) > (scores[$1], -$1) }
    #expect(Sampler.mostLikely(scores, count: count) == Array(sorted.prefix(count)))
  }

  @Test("top-k sampling draws only among the k most likely tokens")
  func topKDraws() {
    let logits = Self.scores(count: 500, seed: 8).map(Float.init)
    let allowed = Set(logits.indices.sorted { (logits[$0], -$0) > (logits[$1], -$1) }.prefix(5))
    var sampler = Sampler(options: SamplingOptions(greedy: false, temperature: 5, topK: 5, topP: 1, seed: 4))
    let drawn = (0..<200).map { _ in sampler.next(logits: logits, history: []) }
    #expect(Set(drawn).isSubset(of: allowed), "drawn \(Set(drawn).subtracting(allowed)) outside the top 5")
    #expect(Set(drawn).count > 1, "a high temperature spreads the draws over several of the 5")
  }
}
