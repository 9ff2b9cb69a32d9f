import TesseraCompiler
import TesseraRuntime

extension OpenCLDevice {
  /// The `opencl` target of `tessera compile`: every op, and `--emit opencl` (one portable
  /// OpenCL C file per kernel, f16 computed as float, each building on its own).
  public static let compileTarget = CompileTarget(
    capabilities: .gpu("opencl"),
    emitters: [
      "opencl": { plan in
        plan.kernels.map { ("\($0.name).cl", Array(OpenCLCodegen.program([$0], options: OpenCLCodegenOptions()).utf8)) }
      }
    ])
}
