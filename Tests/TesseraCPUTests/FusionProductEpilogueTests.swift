import TesseraCompiler
import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// An elementwise chain over a matmul's or convolution's result goes to the product's epilogue,
/// not to the prologue of a reduction that reads it, also when the chain reads the product's
/// result more than once (a decomposed `HardSwish` before a global pool); a value the chain shares
/// with a later consumer stays out of it.
@Suite("Fusion: elementwise chains over a product join its epilogue, not a reduction's prologue")
struct FusionProductEpilogueTests {
  /// MobileNetV3's last convolution: bias, `HardSwish` as ONNX exporters decompose it
  /// (`x · max(min(x/6 + 1/2, 1), 0)`), then the global average pool.
  static let hardSwishPool = """
    func @f(%x: f32[1,4,5,5], %w: f32[6,4,1,1], %b: f32[1,6,1,1]) -> f32[1,6,1,1] {
      %c = conv2d %x, %w : f32[1,6,5,5]
      %y = add %c, %b : f32[1,6,5,5]
      %sixth = constant 0.16666667 : f32[]
      %s = mul %y, %sixth : f32[1,6,5,5]
      %half = constant 0.5 : f32[]
      %h = add %s, %half : f32[1,6,5,5]
      %one = constant 1.0 : f32[]
      %m = min %h, %one : f32[1,6,5,5]
      %zero = constant 0.0 : f32[]
      %g = max %m, %zero : f32[1,6,5,5]
      %z = mul %y, %g : f32[1,6,5,5]
      %p = reduce_mean %z {axes = [2, 3], keepdims = true} : f32[1,6,1,1]
      return %p
    }
    """

  /// A norm over a matmul's result: `%h` is read by the reduction's chain and by the final scale,
  /// which is outside that chain.
  static let normOverProduct = """
    func @f(%x: f32[3,8], %w: f32[8,16]) -> f32[3,16] {
      %h = matmul %x, %w : f32[3,16]
      %q = mul %h, %h : f32[3,16]
      %r = reduce_mean %q {axes = [1], keepdims = true} : f32[3,1]
      %y = mul %h, %r : f32[3,16]
      return %y
    }
    """

  @Test func aDecomposedHardSwishJoinsTheConvolutionAndThePoolIsAlone() throws {
    let graph = try TestSupport.parseOne(Self.hardSwishPool)
    let groups = Fusion.groups(graph).groups
    let kinds = { (group: FusedGroup) in group.nodes.map { graph.nodes[$0].kind }.filter { $0 != .constant } }
    let product = try #require(groups.first { $0.kind == .matmul })
    #expect(kinds(product) == [.conv2d, .add, .mul, .add, .min, .max, .mul])
    let reduction = try #require(groups.first { $0.kind == .reduction })
    #expect(kinds(reduction) == [.reduceMean])
  }

  @Test(
    "on cpu the convolution with its HardSwish and the pool are both native, and match the reference",
    arguments: threadCounts)
  func nativeOnCPU(threads: Int) throws {
    let (routes, ratio) = try CPUVersusReference.compare(
      Self.hardSwishPool, threads: threads, seed: 11, atol: 1e-5, rtol: 1e-5)
    #expect(ratio <= 1)
    #expect(!routes.contains { if case .vector = $0 { true } else { false } }, "a generated kernel in \(routes)")
  }

  @Test func aValueReadAfterTheReductionStaysOutOfTheChain() throws {
    let graph = try TestSupport.parseOne(Self.normOverProduct)
    let groups = Fusion.groups(graph).groups
    let reduction = try #require(groups.first { $0.kind == .reduction })
    #expect(reduction.nodes.map { graph.nodes[$0].kind } == [.mul, .reduceMean])
    #expect(groups.first { $0.kind == .matmul }.map { $0.nodes.count } == 1)
  }
}
