/// The portable kernel library: matmul, quantized matvec, softmax, rms_norm, rope, attention and
/// friends, written once in the kernel DSL of TesseraCompiler and lowered to every target.
///
/// The kernels arrive with the Kernel IR (see the project's issues); this namespace is where
/// they will be registered.
public enum TesseraKernels {}
