/// The loop of an elementwise binary op over operands read with a stride each: the native
/// strided kernels and the native gather's epilogue share it.
enum StridedBinaryLoop {
  /// `out[j] = op(a[j · sa], b[j · sb])` for `j < width`, with the common strides (both
  /// contiguous, or one operand a broadcast scalar) sixteen elements at a time. `out` may be `a`
  /// or `b` (each vector is read before it is written: the compiler, left to prove that itself,
  /// kept these loops scalar, which was MobileNetV3's squeeze-and-excitation products on `cpu`).
  @inline(__always)
  static func run(
    _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
    _ width: Int, _ op: (Float, Float) -> Float
  ) {
    let whole = width / 16 * 16
    switch (sa, sb) {
    case (1, 1):
      for j in stride(from: 0, to: whole, by: 16) { store(lanes(load(a + j), load(b + j), op), at: out + j) }
      for j in whole..<width { out[j] = op(a[j], b[j]) }
    case (1, 0):
      let y = b[0]
      for j in stride(from: 0, to: whole, by: 16) { store(lanes(load(a + j), SIMD16(repeating: y), op), at: out + j) }
      for j in whole..<width { out[j] = op(a[j], y) }
    case (0, 1):
      let x = a[0]
      for j in stride(from: 0, to: whole, by: 16) { store(lanes(SIMD16(repeating: x), load(b + j), op), at: out + j) }
      for j in whole..<width { out[j] = op(x, b[j]) }
    default: for j in 0..<width { out[j] = op(a[j * sa], b[j * sb]) }
    }
  }

  @inline(__always)
  private static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
  }

  @inline(__always)
  private static func store(_ v: SIMD16<Float>, at p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
  }

  /// `op` lane by lane (one vector instruction once inlined).
  @inline(__always)
  private static func lanes(_ x: SIMD16<Float>, _ y: SIMD16<Float>, _ op: (Float, Float) -> Float) -> SIMD16<Float> {
    var result = SIMD16<Float>()
    for lane in 0..<16 { result[lane] = op(x[lane], y[lane]) }
    return result
  }
}
