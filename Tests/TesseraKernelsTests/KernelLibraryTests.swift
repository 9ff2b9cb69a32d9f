import TesseraKernels
import Testing

@Suite("Kernel library")
struct KernelLibraryTests {
  @Test func namespaceExists() {
    #expect(String(describing: TesseraKernels.self) == "TesseraKernels")
  }
}
