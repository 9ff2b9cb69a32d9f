import TesseraCompiler
import TesseraIR
import TesseraRuntime

extension NPUDevice {
  /// What the npu runs; the partitioner sends the rest to the fallback: matmul, the elementwise
  /// float ops, the float reductions (so the decomposed softmax and norms) and argmax, the
  /// dequantization of block-quantized weights (every ``BlockFormat``), the movement ops that
  /// become strided DMAs, comparisons and selection (i32 and bool read as f32 lanes), `gather`
  /// and `update_slice` at run-time rows, `rope` at run-time positions. A step it claims but cannot lower (integer arithmetic)
  /// runs on the host.
  public static let capabilities = TargetCapabilities(
    name: "npu",
    ops: [
      .add, .sub, .mul, .div, .max, .min, .pow, .neg, .abs, .exp, .log, .sqrt, .rsqrt, .reciprocal, .tanh, .relu,
      .sin, .cos, .erf, .cast, .matmul, .transpose, .reshape, .broadcast, .slice, .constant, .reduceSum,
      .reduceMax, .reduceMin, .reduceMean, .dequantize, .compare, .select, .argmax, .gather, .updateSlice,
      .rope,
    ], dtypes: Set<DType>([.f32, .f16, .i32, .bool]).union(BlockFormat.all.map(\.dtype)),
    decompose: [.softmax, .layerNorm, .rmsNorm, .gelu, .sigmoid, .silu])

  /// The `npu` target of `tessera compile`: its capabilities, and `--emit npu-asm` (the NPU
  /// program of each step).
  public static let compileTarget = CompileTarget(
    capabilities: capabilities,
    emitters: ["npu-asm": { plan in [("program.npuasm", Array(NPULowering.assembly(for: plan).utf8))] }])
}
