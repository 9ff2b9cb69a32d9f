import Tessera
import TesseraTestSupport
import Testing

/// The library's register-blocked matmul (``TesseraKernels/blockedMatmul(_:dtype:epilogue:)``) on
/// every usable kernel-running device — the KIR interpreter, OpenCL, Vulkan — against the
/// reference evaluator, on shapes with row and column tails, batches and a shared operand.
/// Devices without a driver are not listed (their providers report them unavailable).
@Suite("Library matmul on every device against the reference")
struct LibraryMatmulDeviceTests {
  private static let registry = DeviceRegistry.standard()
  private static let deviceNames = registry.availableDevices.map(\.info.name).filter {
    $0 == "kir" || $0.hasPrefix("opencl") || $0.hasPrefix("vulkan")
  }

  /// `a x b = c` shapes: 16-wide blocks with a shifted last block and a partial last row block,
  /// an exact multiple of the blocks, narrow results (4- and 1-wide vectors), batches (one with
  /// a shared operand, one broadcast both ways).
  private static let cases: [(a: [Int], b: [Int], c: [Int])] = [
    ([37, 29], [29, 50], [37, 50]), ([2, 16, 8], [2, 8, 32], [2, 16, 32]), ([3, 5, 9], [9, 7], [3, 5, 7]),
    ([2, 1, 40], [2, 40, 1], [2, 1, 1]), ([2, 13, 11], [1, 11, 20], [2, 13, 20]),
  ]

  @Test("f32 and f16 matmuls match the reference", arguments: deviceNames)
  func matmuls(device name: String) throws {
    let device = try Self.registry.device(named: name)
    for dtype in [DType.f32, .f16] {
      for (a, b, c) in Self.cases {
        let graph = try TestSupport.parseOne(Self.text(a, b, c, dtype))
        let (atol, rtol) = dtype == .f16 ? (2e-3, 2e-3) : (1e-4, 1e-4)
        for check in try TestSupport.parity(
          device, graph, TestSupport.exampleInputs(graph), atol: { _ in atol }, rtol: { _ in rtol })
        {
          #expect(check.passes, "\(name) \(dtype) \(a) x \(b): \(check.detail)")
        }
      }
    }
  }

  @Test func theLibraryChoosesTheBlockedKernel() throws {
    let graph = try TestSupport.parseOne(Self.text([37, 29], [29, 50], [37, 50], .f32))
    let call = try #require(StandardKernelLibrary().call(for: graph.nodes[0], in: graph))
    #expect(call.kernel.comment.contains("8x16 results per work-item"))
    #expect(call.kernel.groupCounts(call.scalars) == [1, 1, 1])
  }

  /// `c = matmul a, b` as a function of `a` and `b`, all of `dtype`.
  static func text(_ a: [Int], _ b: [Int], _ c: [Int], _ dtype: DType) -> String {
    func type(_ dims: [Int]) -> String { "\(dtype)[\(dims.map(String.init).joined(separator: ","))]" }
    return """
      func @mm(%a: \(type(a)), %b: \(type(b))) -> \(type(c)) {
        %c = matmul %a, %b : \(type(c))
        return %c
      }
      """
  }
}
