import TesseraCompiler
import TesseraIR

/// A lone f32 `reduce_sum`, `reduce_mean`, `reduce_max` or `reduce_min` over the trailing axes
/// (a global average pool's `[N, C, H, W]` → `[N, C]`): each output is one contiguous row of the
/// input, summed (in `Double`, as the reference does, eight partial sums of four lanes:
/// ``DoubleLanes/sum(_:_:_:)``) or scanned. Threads take whole rows. Other
/// reductions (other axes, a prologue or epilogue, other dtypes) run their generated kernel.
struct NativeReduction: Sendable {
  let input: ValueID
  let kind: OpKind
  /// Outputs, and the input elements each reduces.
  let rows: Int, width: Int

  /// Recognises `group`, or returns nil.
  init?(_ group: FusedGroup, in graph: Graph) {
    guard group.kind == .reduction, group.nodes.count == 1 else { return nil }
    let node = graph.nodes[group.nodes[0]]
    let type = graph.type(of: node.operands[0])
    guard [.reduceSum, .reduceMean, .reduceMax, .reduceMin].contains(node.kind), type.dtype == .f32,
      graph.type(of: node.result).dtype == .f32, type.shape.count > 0
    else { return nil }
    let rank = type.shape.rank
    let axes = Set((node.attributes.ints("axes") ?? Array(0..<rank)).compactMap(type.shape.normalizedAxis))
    guard !axes.isEmpty, axes == Set((rank - axes.count)..<rank) else { return nil }
    input = node.operands[0]
    kind = node.kind
    width = type.shape.dims.suffix(axes.count).reduce(1, *)
    rows = type.shape.count / width
  }

  /// Reduces `pointer(input)` into `output`.
  func run(output: UnsafeMutableRawPointer, pointer: (ValueID) -> UnsafeMutableRawPointer, pool: CPUThreadPool) {
    let shared = ReductionPointers(
      input: UnsafePointer(pointer(input).assumingMemoryBound(to: Float.self)),
      output: output.assumingMemoryBound(to: Float.self))
    let (kind, width) = (kind, width)
    pool.forEachChunk(of: rows, grain: Swift.max(1, 4096 / width)) { chunk in
      for row in chunk {
        let values = UnsafeBufferPointer(start: shared.input + row * width, count: width)
        let result: Float
        switch kind {
        case .reduceMax: result = values.reduce(-.infinity) { $1 > $0 || $1.isNaN ? $1 : $0 }
        case .reduceMin: result = values.reduce(.infinity) { $1 < $0 || $1.isNaN ? $1 : $0 }
        default:
          let sum = DoubleLanes.sum(shared.input + row * width, width) { $0 }
          result = Float(kind == .reduceMean ? sum / Double(width) : sum)
        }
        shared.output[row] = result
      }
    }
  }
}

/// The rows handed to worker threads. `@unchecked Sendable`: the input is only read and each
/// thread writes its own outputs.
private struct ReductionPointers: @unchecked Sendable {
  let input: UnsafePointer<Float>
  let output: UnsafeMutablePointer<Float>
}
