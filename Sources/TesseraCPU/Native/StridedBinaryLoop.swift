/// The loop of an elementwise binary op over operands read with a stride each: the native
/// strided kernels and the native gather's epilogue share it.
enum StridedBinaryLoop {
  /// `out[j] = op(a[j · sa], b[j · sb])` for `j < width`, with the common strides (both
  /// contiguous, or one operand a broadcast scalar) as loops the compiler vectorises. `out` may
  /// be `a` or `b` (each element is read before it is written).
  @inline(__always)
  static func run(
    _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
    _ width: Int, _ op: (Float, Float) -> Float
  ) {
    switch (sa, sb) {
    case (1, 1): for j in 0..<width { out[j] = op(a[j], b[j]) }
    case (1, 0):
      let y = b[0]
      for j in 0..<width { out[j] = op(a[j], y) }
    case (0, 1):
      let x = a[0]
      for j in 0..<width { out[j] = op(x, b[j]) }
    default: for j in 0..<width { out[j] = op(a[j * sa], b[j * sb]) }
    }
  }
}
