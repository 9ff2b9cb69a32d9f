import Testing

@testable import TesseraOpenCL

/// Devices are numbered GPUs first, so a bare `opencl` means the GPU where an ICD for the CPU
/// (PoCL) is installed beside the GPU's. The type bits are OpenCL's: CPU 2, GPU 4, accelerator 8.
@Suite("OpenCL device numbering: GPUs, then accelerators, then others, CPUs last")
struct OpenCLNumberingTests {
  @Test("a CPU listed before a GPU and an accelerator is numbered after them")
  func gpuFirst() {
    // Discovery order: PoCL's CPU, a GPU, an accelerator, a CPU that is also the default (2 | 1).
    #expect(OpenCLProvider.numbering(types: [2, 4, 8, 3]) == [1, 2, 0, 3])
  }

  @Test("devices of one rank keep their discovery order")
  func stable() {
    #expect(OpenCLProvider.numbering(types: [4, 2, 4 | 1, 2]) == [0, 2, 1, 3])
    #expect(OpenCLProvider.numbering(types: []) == [])
  }

  @Test("a type without CPU, GPU or accelerator bits comes between accelerators and CPUs")
  func other() {
    #expect(OpenCLProvider.numbering(types: [2, 16, 8]) == [2, 1, 0])
    #expect(OpenCLDeviceProperties.rank(type: 16) == 2)
  }
}
