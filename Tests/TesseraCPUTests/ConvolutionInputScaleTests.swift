import TesseraCompiler
import TesseraIR
import TesseraKernels
import TesseraRuntime
import TesseraTestSupport
import Testing

@testable import TesseraCPU

/// A squeeze-and-excitation gate before a pointwise convolution, `conv2d(x · s, w)` with `s` one
/// value per channel: on cpu the `mul` joins the convolution's step, which scales the rows of
/// its SGEMM's B (or ``OutputRowConvolution``'s A) as it packs them. Each case against the
/// reference evaluator on 1 and 3 threads; inputs are small integers and weights halves, so the
/// sums are exact in f32. Convolutions that do not scale their input (a 3x3 kernel, a scale
/// that is not one per channel, a scaled input read elsewhere) keep the `mul` as a step of its
/// own; the generated kernel of a fused group (the KIR interpreter's) gives the same answer.
@Suite("Pointwise convolutions of an input scaled per channel")
struct ConvolutionInputScaleTests {
  struct Case: CustomStringConvertible, Sendable {
    var batch: Int, channels: Int, outputs: Int, side: Int
    /// Scales of each image (`[N, C, 1, 1]`) or one for all (`[1, C, 1, 1]`).
    var scalePerImage: Bool
    /// Weights a constant (seven-wide outputs then take ``OutputRowConvolution``) or an argument.
    var constantWeights: Bool
    /// `mul %s, %x` rather than `mul %x, %s`.
    var scaleFirst = false

    var description: String {
      "\(batch)x\(channels)x\(side)x\(side) → \(outputs), scales \(scalePerImage ? "per image" : "shared"), "
        + "weights \(constantWeights ? "constant" : "an argument")"
    }
  }

  static let cases: [Case] = [
    // SGEMM: 196 positions (six tiles of 32 and one of 4), 13 output rows (a tile and a row).
    Case(batch: 2, channels: 20, outputs: 13, side: 14, scalePerImage: true, constantWeights: false),
    // SGEMM with A packed once, depth 300 (blocks of the depth), the scale first.
    Case(batch: 1, channels: 300, outputs: 16, side: 5, scalePerImage: false, constantWeights: true, scaleFirst: true),
    // Seven-wide outputs of constant weights: ``OutputRowConvolution`` where vectors are 512
    // bits wide (two panels of 32 output channels split between threads mid-panel).
    Case(batch: 1, channels: 40, outputs: 45, side: 7, scalePerImage: false, constantWeights: true),
    Case(batch: 2, channels: 24, outputs: 40, side: 7, scalePerImage: true, constantWeights: true, scaleFirst: true),
  ]

  /// `relu(conv2d(x · s, w) + b)`.
  static func text(_ conv: Case) -> String {
    let (n, c, o, side) = (conv.batch, conv.channels, conv.outputs, conv.side)
    let result = "f32[\(n),\(o),\(side),\(side)]"
    var arguments = [
      "%x: f32[\(n),\(c),\(side),\(side)]", "%s: f32[\(conv.scalePerImage ? n : 1),\(c),1,1]", "%b: f32[\(o),1,1]",
    ]
    var body: [String] = []
    if conv.constantWeights {
      let weights = (0..<(o * c)).map { "\(Double(($0 * 7) % 9) / 2 - 2)" }.joined(separator: ", ")
      body.append("%w = constant [\(weights)] : f32[\(o),\(c),1,1]")
    } else {
      arguments.append("%w: f32[\(o),\(c),1,1]")
    }
    body += [
      conv.scaleFirst
        ? "%g = mul %s, %x : f32[\(n),\(c),\(side),\(side)]" : "%g = mul %x, %s : f32[\(n),\(c),\(side),\(side)]",
      "%c = conv2d %g, %w : \(result)", "%y = add %c, %b : \(result)", "%z = relu %y : \(result)", "return %z",
    ]
    return "func @f(\(arguments.joined(separator: ", "))) -> \(result) {\n  " + body.joined(separator: "\n  ") + "\n}"
  }

  @Test("one native step scaling the input as it packs it, matching the reference", arguments: cases.indices, [1, 3])
  func scaled(index: Int, threads: Int) throws {
    let conv = Self.cases[index]
    let (routes, ratio) = try CPUVersusReference.compare(
      Self.text(conv), threads: threads, seed: 43, atol: 1e-4, rtol: 1e-5)
    #expect(ratio <= 1, "\(conv)")
    #expect(routes.count == 1, "one step: the scale, the convolution and its epilogue (\(conv))")
    guard case .convolution(let native) = routes.first else {
      Issue.record("not a native convolution: \(conv)")
      return
    }
    #expect(native.inputScale != nil, "\(conv)")
    #expect(native.inputScaleStride == (conv.scalePerImage && conv.batch > 1 ? conv.channels : 0), "\(conv)")
    let outputRows = conv.constantWeights && conv.side == 7 && SGEMM.Microkernel.preferred == .tile12x32
    #expect((native.outputRowWeights != nil) == outputRows, "\(conv)")
  }

  @Test("the generated kernel of the fused group (the KIR interpreter's) matches the reference")
  func generated() throws {
    var target = TargetCapabilities.everything("kir", windowKernels: [.conv2d])
    target.scalesConvolutionInputs = true
    let graph = try TestSupport.parseOne(Self.text(Self.cases[0]))
    let plan = try GraphCompiler.compile(graph, target: target)
    #expect(plan.steps.filter { $0.call != nil }.map { $0.group.nodes.count } == [4], "scale, convolution, add, relu")
    let compiled = try KIRDevice(library: StandardKernelLibrary(), capabilities: target).compile(graph)
    var generator = SeededRandom(seed: 47)
    let inputs = graph.argumentTypes.map { Tensor.random($0, integerBound: 5, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    #expect(TestSupport.toleranceRatio(try compiled.run(inputs: inputs)[0], expected, atol: 1e-4, rtol: 1e-5) <= 1)
  }

  /// Graphs whose `mul` stays a step of its own on cpu, and still match the reference.
  static let unscaled: [(name: String, text: String)] = [
    (
      "a 3x3 kernel",
      """
      func @f(%x: f32[1,4,6,6], %s: f32[1,4,1,1], %w: f32[3,4,3,3]) -> f32[1,3,6,6] {
        %g = mul %x, %s : f32[1,4,6,6]
        %c = conv2d %g, %w {pads = [1, 1, 1, 1]} : f32[1,3,6,6]
        return %c
      }
      """
    ),
    (
      "a scale per element",
      """
      func @f(%x: f32[1,4,6,6], %s: f32[1,4,6,6], %w: f32[3,4,1,1]) -> f32[1,3,6,6] {
        %g = mul %x, %s : f32[1,4,6,6]
        %c = conv2d %g, %w : f32[1,3,6,6]
        return %c
      }
      """
    ),
    (
      "a scaled input read twice",
      """
      func @f(%x: f32[1,4,6,6], %s: f32[1,4,1,1], %w: f32[3,4,1,1], %v: f32[2,4,1,1]) -> f32[1,3,6,6] {
        %g = mul %x, %s : f32[1,4,6,6]
        %c = conv2d %g, %w : f32[1,3,6,6]
        %d = conv2d %g, %v : f32[1,2,6,6]
        %e = reduce_sum %d {axes = [1], keepdims = true} : f32[1,1,6,6]
        %y = add %c, %e : f32[1,3,6,6]
        return %y
      }
      """
    ),
  ]

  @Test("a convolution that does not scale its input keeps the mul apart", arguments: unscaled.indices)
  func apart(index: Int) throws {
    let (name, text) = Self.unscaled[index]
    let (routes, ratio) = try CPUVersusReference.compare(text, threads: 1, seed: 53, atol: 1e-4, rtol: 1e-5)
    #expect(ratio <= 1, "\(name)")
    let scaled = routes.contains {
      guard case .convolution(let native) = $0 else { return false }
      return native.inputScale != nil
    }
    #expect(!scaled, "\(name)")
    #expect(routes.contains { if case .strided = $0 { true } else { false } }, "the mul runs alone: \(name)")
  }

  @Test("what the scale reads stays materialised, and targets without the capability keep the mul apart")
  func fusionBoundaries() throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[1,4,6,6], %t: f32[1,4,1,1], %w: f32[3,4,1,1]) -> f32[1,3,6,6] {
        %r = relu %x : f32[1,4,6,6]
        %s = sigmoid %t : f32[1,4,1,1]
        %g = mul %r, %s : f32[1,4,6,6]
        %c = conv2d %g, %w : f32[1,3,6,6]
        return %c
      }
      """)
    func kernels(_ target: TargetCapabilities) throws -> [[OpKind]] {
      try GraphCompiler.compile(graph, target: target).steps.filter { $0.call != nil }.map {
        $0.group.nodes.map { graph.nodes[$0].kind }
      }
    }
    #expect(try kernels(CPUDevice.capabilities) == [[.relu], [.sigmoid], [.mul, .conv2d]])
    let withoutCapability = try kernels(.everything("kir", windowKernels: [.conv2d]))
    #expect(withoutCapability.last == [.conv2d], "\(withoutCapability)")
  }
}
