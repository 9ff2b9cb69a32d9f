import TesseraCompiler
import TesseraIR

/// A reduction across the work-items of a 1-D workgroup through a shared-memory tree, shared by
/// every kernel that combines per-lane partial results (reductions, norms, softmax, matvec,
/// attention).
struct WorkgroupTree {
  private let builder: KernelBuilder
  private let arrays: [KSharedRef]
  private let lane: KExpr
  private let width: Int

  /// Declares one shared array of `width` elements per component dtype, named `name0`, `name1`…
  /// (or just `name` with one component). `width` must be a power of two (see ``checkPowerOfTwo``).
  init(_ builder: KernelBuilder, name: String, dtypes: [DType], width: Int, lane: KExpr) {
    self.builder = builder
    self.arrays = dtypes.enumerated().map { index, dtype in
      builder.shared(dtypes.count == 1 ? name : "\(name)\(index)", dtype, count: width)
    }
    self.lane = lane
    self.width = width
  }

  /// Combines every lane's `values` with `combine(mine, other)` and returns the result to every
  /// lane. Must be reached by the whole workgroup (it holds barriers); the arrays are free for
  /// the next reduction when it returns.
  func reduce(_ values: [KExpr], _ combine: ([KExpr], [KExpr]) -> [KExpr]) -> [KExpr] {
    for (array, value) in zip(arrays, values) { array[lane] = value }
    var stride = width / 2
    while stride >= 1 {
      builder.barrier()
      let other = lane + builder.i32(stride)
      builder.if(lane.lt(builder.i32(stride))) {
        let combined = combine(arrays.map { $0[lane] }, arrays.map { $0[other] })
        for (array, value) in zip(arrays, combined) { array[lane] = value }
      }
      stride /= 2
    }
    builder.barrier()
    let zero = builder.i32(0)
    let result = arrays.map { $0[zero] }
    builder.barrier()
    return result
  }

  /// The sum of every lane's `value`.
  func sum(_ value: KExpr) -> KExpr { reduce([value]) { [$0[0] + $1[0]] }[0] }

  /// The maximum of every lane's `value` (NaN if any is NaN).
  func max(_ value: KExpr) -> KExpr { reduce([value]) { [builder.max($0[0], $1[0])] }[0] }

  /// The minimum of every lane's `value` (NaN if any is NaN).
  func min(_ value: KExpr) -> KExpr { reduce([value]) { [builder.min($0[0], $1[0])] }[0] }
}

extension KernelBuilder {
  /// Folds `update(accumulator, j)` over `j = start, start + step, …` below `end`, starting from
  /// `initial`; the usual "lanes stride over a row" loop.
  func fold(
    _ initial: KExpr, from start: KExpr, to end: KExpr, step: Int, _ update: (KExpr, KExpr) -> KExpr
  ) -> KExpr {
    let accumulator = variable(initial)
    loop(from: start, to: end, step: step) { j in accumulator.value = update(accumulator.value, j) }
    return accumulator.value
  }

  /// `buffer[index]` widened to f32 (plain f16/f32 loads and quantized dequantizing loads alike).
  func loadF32(_ buffer: KBufferRef, _ index: KExpr) -> KExpr { buffer[index].cast(to: KType.f32) }

  /// `value` where `condition` holds, else `fallback`, without evaluating `value` (so it may load
  /// out of bounds when the condition fails).
  func guarded(_ condition: KExpr, _ fallback: KExpr, _ value: () -> KExpr) -> KExpr {
    let result = variable(fallback)
    self.if(condition) { result.value = value() }
    return result.value
  }
}

/// Throws unless `size` is a power of two (tree reductions halve the workgroup at each step).
func checkPowerOfTwo(_ size: Int, kernel: String, _ what: String = "workgroup size") throws(KIRError) {
  guard size >= 1, size & (size - 1) == 0 else {
    throw .invalid(kernel: kernel, detail: "\(what) \(size) must be a power of two")
  }
}

/// Throws unless `dtype` is one of `allowed`.
func checkDType(_ dtype: DType, _ allowed: [DType], kernel: String, _ what: String) throws(KIRError) {
  guard allowed.contains(dtype) else {
    throw .invalid(kernel: kernel, detail: "\(what) must be one of \(allowed.map(\.rawValue)), found \(dtype)")
  }
}
