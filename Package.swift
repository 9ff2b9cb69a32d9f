// swift-tools-version:6.0
// Tessera: one tensor IR, one graph compiler, interchangeable targets.
// Zero package dependencies; system libraries come in through CMakeShims/ and are dlopen'ed.
import PackageDescription

let package = Package(
  name: "Tessera",
  products: [
    .library(name: "Tessera", targets: ["Tessera"]),
    .library(name: "TesseraIR", targets: ["TesseraIR"]),
    .library(name: "TesseraONNX", targets: ["TesseraONNX"]),
    .executable(name: "tessera", targets: ["tessera"]),
    .executable(name: "tessera-bench", targets: ["tessera-bench"]),
    .executable(name: "tessera-fuzz", targets: ["tessera-fuzz"]),
    .executable(name: "tessera-difftest", targets: ["tessera-difftest"]),
  ],
  targets: [
    // System headers only: no `link` line, the loaders are opened with dlopen at run time.
    .systemLibrary(name: "COpenCL", path: "CMakeShims/COpenCL"),
    .systemLibrary(name: "CVulkan", path: "CMakeShims/CVulkan"),
    // A header of inline wrappers over the compiler's intrinsics (AVX-512 VNNI); no library.
    .systemLibrary(name: "CTesseraSIMD", path: "CMakeShims/CTesseraSIMD"),

    .target(name: "TesseraIR"),
    .target(name: "TesseraCompiler", dependencies: ["TesseraIR"]),
    .target(name: "TesseraKernels", dependencies: ["TesseraCompiler"], path: "Kernels"),
    .target(name: "TesseraRuntime", dependencies: ["TesseraIR", "TesseraCompiler"]),
    .target(name: "TesseraCPU", dependencies: ["TesseraRuntime", "TesseraCompiler", "CTesseraSIMD"]),
    .target(name: "TesseraOpenCL", dependencies: ["TesseraIR", "TesseraCompiler", "TesseraRuntime", "COpenCL"]),
    .target(name: "TesseraVulkan", dependencies: ["TesseraRuntime", "CVulkan"]),
    .target(name: "TesseraNPU", dependencies: ["TesseraRuntime"]),
    .target(name: "TesseraLLM", dependencies: ["TesseraRuntime"]),
    .target(name: "TesseraONNX", dependencies: ["TesseraIR", "TesseraCompiler"]),
    .target(
      name: "Tessera",
      dependencies: [
        "TesseraIR", "TesseraCompiler", "TesseraRuntime", "TesseraCPU", "TesseraOpenCL",
        "TesseraVulkan", "TesseraNPU", "TesseraLLM", "TesseraKernels", "TesseraONNX",
      ]),
    .executableTarget(name: "tessera", dependencies: ["Tessera"]),
    .executableTarget(name: "tessera-bench", dependencies: ["Tessera", "TesseraTestSupport"], path: "Benchmarks"),
    .executableTarget(name: "tessera-fuzz", dependencies: ["Tessera", "TesseraTestSupport"]),
    .executableTarget(name: "tessera-difftest", dependencies: ["Tessera", "TesseraTestSupport"]),

    .target(name: "TesseraTestSupport", dependencies: ["Tessera"], path: "Tests/TesseraTestSupport"),
    .testTarget(name: "TesseraIRTests", dependencies: ["TesseraIR", "TesseraTestSupport"]),
    .testTarget(
      name: "TesseraCompilerTests",
      dependencies: ["TesseraCompiler", "TesseraCPU", "TesseraKernels", "TesseraTestSupport"]),
    .testTarget(name: "TesseraKernelsTests", dependencies: ["TesseraKernels", "TesseraCPU", "TesseraTestSupport"]),
    .testTarget(name: "TesseraRuntimeTests", dependencies: ["Tessera", "TesseraTestSupport"]),
    .testTarget(name: "TesseraCPUTests", dependencies: ["TesseraCPU", "CTesseraSIMD", "TesseraTestSupport"]),
    .testTarget(
      name: "TesseraOpenCLTests", dependencies: ["TesseraOpenCL", "TesseraCPU", "TesseraKernels", "TesseraTestSupport"]),
    .testTarget(name: "TesseraNPUTests", dependencies: ["TesseraNPU", "TesseraCPU", "TesseraTestSupport"]),
    .testTarget(name: "TesseraLLMTests", dependencies: ["Tessera", "TesseraTestSupport"]),
    .testTarget(name: "TesseraONNXTests", dependencies: ["Tessera", "TesseraTestSupport"]),
    .testTarget(name: "TesseraCLITests", dependencies: ["tessera", "TesseraTestSupport"]),
    .testTarget(
      name: "TesseraVulkanTests", dependencies: ["TesseraVulkan", "TesseraCPU", "TesseraKernels", "TesseraTestSupport"]),
  ],
  swiftLanguageModes: [.v6]
)
