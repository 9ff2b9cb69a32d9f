import Tessera
import TesseraTestSupport
import Testing

@testable import TesseraCompiler

/// On the GPU targets a matmul of at least ``ProductEpilogueSplit/minimumMultiplyAdds`` runs bare
/// on the kernel library's blocked kernel and its epilogue as a kernel after it; a smaller one,
/// and any on the targets that do not split, keeps its epilogue. The split plans give the
/// reference evaluator's values on OpenCL and Vulkan.
@Suite("Large matmuls run bare, their epilogue after them")
struct ProductEpilogueSplitTests {
  private static let registry = DeviceRegistry.standard()

  /// A product of `batch` (empty: none) × `m` × `k` by `k` × `n`, with a bias and `tanh` after
  /// it, or, with `scaled`, attention's `· 1/8` alone.
  struct Case: Sendable, CustomStringConvertible {
    var batch: [Int]
    var m: Int, k: Int, n: Int
    var scaled: Bool
    var multiplyAdds: Int { batch.reduce(1, *) * m * k * n }
    var description: String { "\(batch + [m, k]) x \(batch + [k, n])\(scaled ? " scaled" : " + bias, tanh")" }

    var text: String {
      func type(_ dims: [Int]) -> String { "f32[" + (batch + dims).map(String.init).joined(separator: ",") + "]" }
      let (x, w, y) = (type([m, k]), type([k, n]), type([m, n]))
      if scaled {
        return """
          func @f(%x: \(x), %w: \(w)) -> \(y) {
            %p = matmul %x, %w : \(y)
            %c = constant 0.125 : f32[]
            %y = mul %p, %c : \(y)
            return %y
          }
          """
      }
      return """
        func @f(%x: \(x), %w: \(w), %b: f32[\(n)]) -> \(y) {
          %p = matmul %x, %w : \(y)
          %q = add %p, %b : \(y)
          %y = tanh %q : \(y)
          return %y
        }
        """
    }
  }

  static let cases = [
    Case(batch: [], m: 200, k: 64, n: 96, scaled: false), Case(batch: [2], m: 100, k: 64, n: 90, scaled: true),
    Case(batch: [], m: 8, k: 64, n: 96, scaled: false), Case(batch: [3], m: 9, k: 64, n: 40, scaled: true),
  ]

  @Test("the plan's kernels", arguments: cases)
  func plans(c: Case) throws {
    let graph = try TestSupport.parseOne(c.text)
    let options = CompileOptions(library: StandardKernelLibrary())
    let splits = c.multiplyAdds >= ProductEpilogueSplit.minimumMultiplyAdds
    for target in [OpenCLDevice.compileTarget.capabilities, VulkanDevice.compileTarget.capabilities] {
      let steps = try GraphCompiler.compile(graph, target: target, options: options).steps.filter { $0.call != nil }
      #expect(steps.map(\.group.kind) == (splits ? [.matmul, .elementwise] : [.matmul]), "\(target.name) \(c)")
      if splits { #expect(steps[0].group.nodes.count == 1, "the bare matmul") }
    }
    let whole = try GraphCompiler.compile(graph, target: .everything("kir"), options: options).steps
    #expect(whole.filter { $0.call != nil }.count == 1, "a target that does not split")
  }

  @Test("OpenCL and Vulkan against the reference", arguments: cases)
  func values(c: Case) throws {
    let devices = Self.registry.availableDevices.filter { ["opencl", "vulkan"].contains($0.info.name.prefix(6)) }
    let graph = try TestSupport.parseOne(c.text)
    var generator = SeededRandom(seed: 71)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    for device in devices {
      let actual = try device.compile(graph).run(inputs: inputs)[0]
      let ratio = TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-4)
      #expect(ratio <= 1, "\(device.info.name) \(c): \(actual.preview()) vs \(expected.preview())")
    }
  }
}
