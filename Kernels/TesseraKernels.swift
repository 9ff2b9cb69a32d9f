/// The portable kernel library: matmul, quantized matvec, reductions, softmax, norms, rope,
/// attention, embedding gathers and strided copies, written once in the kernel DSL of
/// TesseraCompiler and lowered to every target.
///
/// Every kernel is a static function returning a verified ``Kernel``. Its documentation lists the
/// buffers and scalars in argument order (the lowering binds graph values in that order), the
/// launch, and the semantics. All index arithmetic is i32; every kernel checks its bounds, so sizes
/// need not be multiples of tiles or workgroups. Tunable parameters live in small config structs
/// with defaults; workgroup sizes of kernels that reduce across a workgroup must be powers of two.
public enum TesseraKernels {}
