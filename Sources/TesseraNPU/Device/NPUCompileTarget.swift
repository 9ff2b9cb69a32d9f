import TesseraCompiler
import TesseraIR
import TesseraRuntime

extension NPUDevice {
  /// What the npu runs; the partitioner sends the rest to the fallback: matmul, the elementwise
  /// float ops, the float reductions (so the decomposed softmax and norms), the dequantization of
  /// block-quantized weights (every ``BlockFormat``) and the movement ops that become strided DMAs, on f32 and f16.
  public static let capabilities = TargetCapabilities(
    name: "npu",
    ops: [
      .add, .sub, .mul, .div, .max, .min, .pow, .neg, .abs, .exp, .log, .sqrt, .rsqrt, .reciprocal, .tanh, .relu,
      .sin, .cos, .erf, .cast, .matmul, .transpose, .reshape, .broadcast, .slice, .constant, .reduceSum,
      .reduceMax, .reduceMin, .reduceMean, .dequantize,
    ], dtypes: Set<DType>([.f32, .f16]).union(BlockFormat.all.map(\.dtype)),
    decompose: [.softmax, .layerNorm, .rmsNorm, .gelu, .sigmoid, .silu])

  /// The `npu` target of `tessera compile`: its capabilities, and `--emit npu-asm` (the NPU
  /// program of each step).
  public static let compileTarget = CompileTarget(
    capabilities: capabilities,
    emitters: ["npu-asm": { plan in [("program.npuasm", Array(NPULowering.assembly(for: plan).utf8))] }])
}
