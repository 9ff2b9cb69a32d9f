import Tessera
import TesseraTestSupport
import Testing

/// Every block format on every device: `dequantize` equal to the reference decode (its one
/// description), and `matmul(x, transpose(dequantize(w)))` within the matmul tolerance. A device
/// without a driver is skipped with its provider's reason.
@Suite("Block formats on every device against the reference")
struct BlockFormatDeviceTests {
  private static let registry = DeviceRegistry.standard()
  static let kinds = ["cpu", "opencl", "vulkan", "npu"]

  struct Case: Sendable, CustomStringConvertible {
    var dtype: DType, kind: String
    var description: String { "\(dtype) on \(kind)" }
  }

  static let cases = BlockFormat.all.flatMap { format in kinds.map { Case(dtype: format.dtype, kind: $0) } }

  static func device(_ kind: String) -> (any Device)? {
    registry.availableDevices.first { $0.info.name.hasPrefix(kind) }
  }

  /// Why `kind` is skipped, or `nil` when it runs.
  static func skipReason(_ kind: String) -> String? {
    guard device(kind) == nil else { return nil }
    let reasons = registry.entries.filter { $0.info.name.hasPrefix(kind) }.compactMap { entry -> String? in
      if case .unavailable(let reason) = entry.info.availability { return "\(entry.info.name): \(reason)" }
      return nil
    }
    return "no usable \(kind) device (\(reasons.joined(separator: "; ")))"
  }

  @Test(arguments: cases) func dequantizeEqualsTheReference(c: Case) throws {
    if let reason = Self.skipReason(c.kind) {
      print("skipped \(c): \(reason)")
      return
    }
    let device = try #require(Self.device(c.kind))
    let elements = c.dtype.blockFormat!.elements
    let shape = "[3,\(2 * elements)]"
    let graph = try TestSupport.parseOne(
      "func @f(%w: \(c.dtype)\(shape)) -> f32\(shape) {\n  %y = dequantize %w : f32\(shape)\n  return %y\n}")
    var generator = SeededRandom(seed: 41)
    let w = Tensor.random(graph.argumentTypes[0], using: &generator)
    let expected = Quantization.dequantize(w.bytes, dtype: c.dtype, count: w.shape.count)
    let actual = try device.compile(graph).run(inputs: [w])[0]
    // Rounding differs at most by the hand-tuned paths' one fused rounding (q4_1's code·d + m).
    let ratio = TestSupport.toleranceRatio(actual, Tensor(floats: expected, shape: w.shape), atol: 1e-6, rtol: 1e-6)
    #expect(ratio <= 1, "\(c): \(actual.preview()) vs \(expected.prefix(4))")
  }

  @Test(arguments: cases) func matmulMatchesTheReference(c: Case) throws {
    if let reason = Self.skipReason(c.kind) {
      print("skipped \(c): \(reason)")
      return
    }
    let device = try #require(Self.device(c.kind))
    let k = 2 * c.dtype.blockFormat!.elements, n = 5
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[2,\(k)], %w: \(c.dtype)[\(n),\(k)]) -> f32[2,\(n)] {
        %d = dequantize %w : f32[\(n),\(k)]
        %t = transpose %d {perm = [1, 0]} : f32[\(k),\(n)]
        %y = matmul %x, %t : f32[2,\(n)]
        return %y
      }
      """)
    var generator = SeededRandom(seed: 43)
    let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
    let expected = try TestSupport.evaluate(graph, inputs)[0]
    let actual = try device.compile(graph).run(inputs: inputs)[0]
    // The npu multiplies fp16 operands: its error scales with the largest result, not each one.
    let largest = expected.doubles.map(Swift.abs).max() ?? 1
    let (atol, rtol) = c.kind == "npu" ? (1e-2 * largest, 2e-2) : (2e-4, 2e-4)
    let ratio = TestSupport.toleranceRatio(actual, expected, atol: atol, rtol: rtol)
    #expect(ratio <= 1, "\(c): \(actual.preview()) vs \(expected.preview())")
  }
}
