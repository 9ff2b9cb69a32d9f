import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// Tuning never changes results beyond the stated tolerances: every shape `tessera tune` may
/// choose multiplies by quantized weights on OpenCL and Vulkan as the reference evaluator does
/// (odd sizes: outputs not a multiple of any workgroup's rows, one and three rows of x); the
/// search itself keeps the default unless a measured shape is faster, and never a rejected one.
@Suite("Tuned GPU devices against the reference")
struct TunedDeviceTests {
  private static let registry = DeviceRegistry.standard()

  static func device(_ kind: DeviceKind) -> (any TunableDevice)? {
    registry.availableDevices.lazy.compactMap { $0 as? any TunableDevice }.first { $0.info.kind == kind }
  }

  static func reason(_ kind: DeviceKind) -> Comment {
    Comment(
      rawValue: "no usable \(kind) device: "
        + registry.entries.filter { $0.info.kind == kind }.map {
          if case .unavailable(let reason) = $0.info.availability { return reason }
          return "usable"
        }.joined(separator: "; "))
  }

  private static func graph(_ dtype: DType, rows: Int) throws -> Graph {
    try TestSupport.parseOne(
      """
      func @f(%x: f32[\(rows),96], %w: \(dtype)[37,96]) -> f32[\(rows),37] {
        %d = dequantize %w : f32[37,96]
        %t = transpose %d {perm = [1, 0]} : f32[96,37]
        %y = matmul %x, %t : f32[\(rows),37]
        return %y
      }
      """)
  }

  private static func checkEveryCandidate(on device: any TunableDevice, dtypes: [DType]) throws {
    let shapes = QuantizedMatmulTuning.candidates(
      subgroupSize: device.capabilities.subgroupSize, maxWorkgroupSize: device.maxWorkgroupSize)
    for dtype in dtypes {
      let graph = try graph(dtype, rows: 3)
      var generator = SeededRandom(seed: 5)
      let inputs = graph.argumentTypes.map { Tensor.random($0, using: &generator) }
      let expected = try TestSupport.evaluate(graph, inputs)[0]
      for shape in shapes {
        let tuned = try device.tuned(KernelTuning(quantizedMatmul: shape))
        #expect(tuned.capabilities.tuning.quantizedMatmul == shape)
        let actual = try tuned.compile(graph).run(inputs: inputs)[0]
        let ratio = TestSupport.toleranceRatio(actual, expected, atol: 2e-4, rtol: 2e-4)
        #expect(ratio <= 1, "\(device.info.name) \(dtype) \(shape): \(actual.preview()) vs \(expected.preview())")
      }
    }
  }

  @Test("OpenCL, every candidate shape", .enabled(if: device(.opencl) != nil, reason(.opencl)))
  func openCL() throws {
    try Self.checkEveryCandidate(on: try #require(Self.device(.opencl)), dtypes: [.q4_1])
  }

  @Test("Vulkan, every candidate shape", .enabled(if: device(.vulkan) != nil, reason(.vulkan)))
  func vulkan() throws {
    try Self.checkEveryCandidate(on: try #require(Self.device(.vulkan)), dtypes: [.q4_0, .q4_1, .q8_0])
  }

  @Test(
    "the search keeps the fastest accepted shape, or the default", .enabled(if: device(.vulkan) != nil, reason(.vulkan))
  )
  func searchOutcome() throws {
    let device = try #require(Self.device(.vulkan))
    let tuner = KernelTuner(matrices: [KernelTuner.Matrix(rows: 40, columns: 64, dtype: .q4_1)], repeats: 1)
    var calls = 0
    let outcome = try tuner.tuneQuantizedMatmul(on: device) { done, total in
      calls += 1
      #expect(done == calls && total == tuner.quantizedShapes(on: device).count * KernelTuner.passes)
    }
    #expect(calls == outcome.measurements.count * KernelTuner.passes)
    #expect(
      !outcome.measurements.dropFirst().contains {
        $0.shape == QuantizedMatmulTuning.untuned(for: device.capabilities)
      }, "the default's own shape is measured once, as the default")
    #expect(outcome.measurements.first?.shape == nil, "the default is measured first")
    let accepted = outcome.measurements.filter { $0.seconds != nil }
    #expect(accepted.count == outcome.measurements.count, "every candidate computes the reference's values")
    let fastest = try #require(accepted.min { $0.seconds! < $1.seconds! })
    if fastest.shape == nil || fastest.seconds! >= outcome.measurements[0].seconds! {
      #expect(outcome.chosen == nil)
    } else {
      #expect(outcome.chosen == fastest.shape)
      #expect(outcome.speedup > 1)
    }
  }

}
