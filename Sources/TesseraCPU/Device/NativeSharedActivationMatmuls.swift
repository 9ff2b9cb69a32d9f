import TesseraIR

/// Consecutive native matmuls of one encoded segment that read the same activation with tiled
/// quantized weights of the same `k` (attention's q, k and v projections, a feed-forward's gate
/// and up: the compiler puts such siblings next to each other), run as one step by
/// ``SharedActivationMatvec``: the activation quantized once (int8-activation mode), one
/// parallel region for every product, then each matmul's epilogue in plan order on the caller.
struct NativeSharedActivationMatmuls: Sendable {
  /// One of the matmuls and the value it writes.
  struct Member: Sendable {
    let root: ValueID
    let matmul: NativeMatmul
  }

  /// The matmuls, in plan order.
  let members: [Member]
  /// Their weights' tiles and results, resolved when the segment was encoded.
  let matrices: [SharedActivationMatvec.Matrix]

  /// One step in place of each run of two or more consecutive `steps` that can share their
  /// activation: native matmuls of the same A and `k` against weights with `tiles` that
  /// ``SharedActivationMatvec`` runs in `precision`, none of which writes where another reads
  /// (their products are all written before the first epilogue runs). `pointer` gives each
  /// value's memory, `nil` for values never materialised; `reads` each step's operands.
  static func grouped(
    _ steps: [(root: ValueID, action: CPUPlanBackend.Action)], reads: [[ValueID]], tiles: [ValueID: UnsafeRawPointer],
    precision: QuantizedPrecision, graph: Graph, pointer: (ValueID) -> UnsafeMutableRawPointer?
  ) -> [(root: ValueID, action: CPUPlanBackend.Action)] {
    func candidate(_ index: Int) -> NativeMatmul? {
      guard case .native(let matmul) = steps[index].action,
        case .quantized(let dtype, transposed: true) = matmul.weights,
        tiles[matmul.b] != nil, matmul.batches.count == 1,
        SharedActivationMatvec.supports(dtype, rows: matmul.layout.m, precision: precision)
      else { return nil }
      return matmul
    }
    var result: [(root: ValueID, action: CPUPlanBackend.Action)] = []
    var start = 0
    while start < steps.count {
      var end = start + 1
      if let first = candidate(start) {
        while end < steps.count, let next = candidate(end), next.a == first.a, next.layout.k == first.layout.k {
          end += 1
        }
      }
      let run = start..<end
      if run.count > 1, disjoint(run, steps, reads: reads, graph: graph, pointer: pointer) {
        let members = run.map { Member(root: steps[$0].root, matmul: candidate($0)!) }
        let matrices = members.map { member in
          guard case .quantized(let dtype, _) = member.matmul.weights else { preconditionFailure("a quantized matmul") }
          return SharedActivationMatvec.Matrix(
            tiles: tiles[member.matmul.b]!, dtype: dtype, n: member.matmul.layout.n,
            y: pointer(member.root)!.assumingMemoryBound(to: Float.self))
        }
        result.append((steps[start].root, .sharedActivation(Self(members: members, matrices: matrices))))
      } else {
        result += steps[run]
      }
      start = end
    }
    return result
  }

  /// Whether no step of `run` writes bytes that another reads (other than that step's own result).
  private static func disjoint(
    _ run: Range<Int>, _ steps: [(root: ValueID, action: CPUPlanBackend.Action)], reads: [[ValueID]], graph: Graph,
    pointer: (ValueID) -> UnsafeMutableRawPointer?
  ) -> Bool {
    func bytes(_ value: ValueID) -> Range<UInt>? {
      guard let start = pointer(value) else { return nil }
      let address = UInt(bitPattern: start)
      return address..<(address + UInt(graph.type(of: value).storageBytes ?? 0))
    }
    for writer in run {
      guard let written = bytes(steps[writer].root) else { return false }
      for reader in run where reader != writer {
        for value in reads[reader] where value != steps[writer].root {
          if let read = bytes(value), read.overlaps(written) { return false }
        }
      }
    }
    return true
  }

  /// Runs the products, then the epilogues; `pointer(value)` gives each operand's memory.
  func run(pointer: (ValueID) -> UnsafeMutableRawPointer, precision: QuantizedPrecision, pool: CPUThreadPool) {
    let first = members[0].matmul
    SharedActivationMatvec.multiply(
      x: pointer(first.a).assumingMemoryBound(to: Float.self), m: first.layout.m, k: first.layout.k,
      matrices: matrices, precision: precision, pool: pool)
    for (member, matrix) in zip(members, matrices) { member.matmul.applyEpilogue(to: matrix.y, pointer: pointer) }
  }
}
