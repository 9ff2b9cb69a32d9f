import TesseraIR

extension KernelGenerator {
  /// Partial sums a work-item's generated sum over a loop keeps (``interleavedSum(count:upTo:of:_:_:)``).
  static let interleavedSums = 4

  /// `Σ term(p)` for `p` in `0..<count`, of `type`: term `p` adds into partial sum
  /// `p mod interleavedSums`, and the partial sums are added pairwise at the end, so that
  /// consecutive additions do not wait for one another (a work-item's loop runs as plain code on
  /// a CPU driver: PoCL's SmolLM2 attention kernel 17.6–19.0 → 14.9–16.2 µs a layer); a sum of
  /// fewer than twice that many terms keeps one. With `limit` (at most `count`, known at run
  /// time), the terms from `limit` on are left out, each other one going into the same partial
  /// sum as without it. Each term is emitted in its own scope of `emitter`.
  static func interleavedSum(
    count: Int, upTo limit: KExpr? = nil, of type: KType, _ emitter: GroupEmitter, _ term: (KExpr) -> KExpr
  ) -> KExpr {
    let k = emitter.builder
    let ways = count >= 2 * interleavedSums ? interleavedSums : 1
    let sums = (0..<ways).map { _ in k.variable(k.constant(0, type)) }
    // Term `base + offset` into `sum`, its constants and values memoised in a scope of its own.
    func add(_ base: KExpr, _ offset: Int, into sum: KVariableRef) {
      emitter.scoped { sum.value = sum.value + term(offset == 0 ? base : base + emitter.index(offset)) }
    }
    let whole = limit.map { $0 - $0 % emitter.index(ways) } ?? emitter.index(count - count % ways)
    k.loop(from: emitter.index(0), to: whole, step: ways) { p in
      for (w, sum) in sums.enumerated() { add(p, w, into: sum) }
    }
    // The last terms, fewer than `ways`: term `whole + w` into sum `w`.
    if let limit {
      for w in 0..<ways - 1 {
        emitter.scoped { k.if((whole + emitter.index(w)).lt(limit)) { add(whole, w, into: sums[w]) } }
      }
    } else {
      for w in 0..<count % ways { add(whole, w, into: sums[w]) }
    }
    var partials = sums.map(\.value)
    while partials.count > 1 {
      partials = stride(from: 0, to: partials.count, by: 2).map {
        $0 + 1 < partials.count ? partials[$0] + partials[$0 + 1] : partials[$0]
      }
    }
    return partials[0]
  }
}
