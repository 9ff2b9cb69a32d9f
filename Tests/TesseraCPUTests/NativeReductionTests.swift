import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// Lone f32 reductions over the trailing axes (a global average pool) run natively on cpu; other
/// axes keep the generated kernel; both match the reference evaluator.
@Suite("Native trailing-axis reductions on cpu")
struct NativeReductionTests {
  /// `.tir` text and whether the reduction is native.
  static let cases: [(text: String, native: Bool)] = [
    (reduction("reduce_mean", "f32[2,5,7,3]", "f32[2,5,1,1]", "axes = [2, 3], keepdims = true"), true),
    (reduction("reduce_mean", "f32[1,9,7,7]", "f32[1,9]", "axes = [-1, -2]"), true),
    (reduction("reduce_max", "f32[4,3,11]", "f32[4,3]", "axes = [2]"), true),
    (reduction("reduce_min", "f32[4,3,11]", "f32[4,3]", "axes = [2]"), true),
    (reduction("reduce_sum", "f32[3,4,5,6]", "f32[3]", "axes = [1, 2, 3]"), true),
    (reduction("reduce_sum", "f32[3,4,5]", "f32[3,5]", "axes = [1]"), false),
  ]

  static func reduction(_ op: String, _ input: String, _ output: String, _ attributes: String) -> String {
    "func @f(%x: \(input)) -> \(output) {\n  %y = \(op) %x {\(attributes)} : \(output)\n  return %y\n}"
  }

  /// A global average pool after a convolution with its bias, residual and relu (a ResNet's end):
  /// the chain stays in the convolution's epilogue and the pool is a native reduction.
  @Test("a convolution's epilogue stays with it before a global pool", arguments: [1, 3])
  func poolAfterConvolution(threads: Int) throws {
    let text = """
      func @f(%x: f32[1,8,7,7], %w: f32[16,8,3,3], %b: f32[16,1,1], %r: f32[1,16,7,7]) -> f32[1,16,1,1] {
        %c = conv2d %x, %w {pads = [1, 1, 1, 1]} : f32[1,16,7,7]
        %y = add %c, %b : f32[1,16,7,7]
        %s = add %y, %r : f32[1,16,7,7]
        %z = relu %s : f32[1,16,7,7]
        %m = reduce_mean %z {axes = [2, 3], keepdims = true} : f32[1,16,1,1]
        return %m
      }
      """
    let (routes, ratio) = try CPUVersusReference.compare(text, threads: threads, seed: 11, atol: 1e-4, rtol: 1e-5)
    #expect(ratio <= 1)
    #expect(routes.count == 2)
    guard case .convolution(let convolution) = routes.first, case .reduction = routes.last else {
      Issue.record("not a native convolution then a native reduction: \(routes)")
      return
    }
    #expect(convolution.epilogue.activation == .relu && convolution.epilogue.residual != nil)
  }

  @Test("trailing-axis reductions are native and match the reference", arguments: cases.indices, [1, 3])
  func matchesTheReference(index: Int, threads: Int) throws {
    let (text, native) = Self.cases[index]
    let (routes, ratio) = try CPUVersusReference.compare(text, threads: threads, seed: 5, atol: 1e-5, rtol: 1e-5)
    #expect(ratio <= 1)
    #expect(routes.count == 1)
    #expect(routes.contains { if case .reduction = $0 { true } else { false } } == native)
  }
}
