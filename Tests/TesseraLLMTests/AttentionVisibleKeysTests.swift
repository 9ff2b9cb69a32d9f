import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// A decode step's fused attention stops at the last key its mask shows (`rows ≤ position`):
/// it never reads the cache rows after the position. Those rows hold NaN here: a kernel that read
/// them would give NaN (a hidden key's weight is 0, and 0 · NaN is NaN, as the reference gives),
/// one that stops gives the logits of the same step with those rows zero.
@Suite("Fused attention reads the keys its mask shows")
struct AttentionVisibleKeysTests {
  private static let registry = DeviceRegistry.standard()
  private static let context = 12

  /// The interpreter compiling as PoCL does and as a GPU does (with the kernel library, whose
  /// softmax lets attention fuse), every usable OpenCL and Vulkan device as it compiles
  /// for itself, and the first OpenCL device compiling as for a GPU (norms in the products, cache
  /// writes computing their rows).
  static let devices: [String] =
    ["kir as for a CPU driver", "kir as for a GPU"]
    + registry.availableDevices.map(\.info.name).filter { $0.hasPrefix("opencl") || $0.hasPrefix("vulkan") }
    + (registry.availableDevices.contains { $0 is OpenCLDevice } ? ["opencl as for a GPU"] : [])

  private static func device(_ name: String) throws -> any Device {
    switch name {
    case "kir as for a CPU driver":
      var target = TargetCapabilities.gpu("kir")
      target.streamsQuantizedRows = true
      target.reductionLanes = 4
      target.fusesNormsIntoProducts = false
      return KIRDevice(library: StandardKernelLibrary(), capabilities: target)
    case "kir as for a GPU":
      return KIRDevice(library: StandardKernelLibrary(), capabilities: .gpu("kir"))
    case "opencl as for a GPU":
      let base = try #require(registry.availableDevices.first { $0 is OpenCLDevice } as? OpenCLDevice)
      var target = base.capabilities
      target.fusesNormsIntoProducts = true
      target.computesCacheUpdates = true
      return try base.configured(capabilities: target)
    default: return try registry.device(named: name)
    }
  }

  /// Inputs of a decode step of a token at `position` (every argument but the weights): the
  /// caches' rows before it random, the rows from it on `after`.
  private static func inputs(_ arguments: [(name: String, type: TensorType)], position: Int, after: Double)
    -> [Tensor]
  {
    var random = SeededRandom(seed: 3)
    return arguments.map { name, type in
      switch name {
      case "token": return Tensor([5], shape: [1], dtype: .i32)
      case "position": return Tensor([Double(position)], shape: [1], dtype: .i32)
      default:
        let width = type.shape.dims.last!
        let values = (0..<type.shape.count).map {
          $0 / width < position ? Double.random(in: -1...1, using: &random) : after
        }
        return Tensor(values, shape: type.shape, dtype: .f32)
      }
    }
  }

  @Test(arguments: devices)
  func rowsAfterThePositionAreNeverRead(device name: String) throws {
    let model = try LlamaModel(path: try TinyLlama().write())
    let graph = try LlamaGraph.decode(config: model.config, weights: model.weights, context: Self.context)
    let device = try Self.device(name)
    let compiled = try device.compile(graph, parameters: try model.parameters(on: device))
    let reference = try ReferenceDevice().compile(graph, parameters: try model.parameters(on: ReferenceDevice()))
    let weights = Set(model.weights.names)
    let arguments = graph.arguments.map { (graph[$0].name, graph.type(of: $0)) }.filter { !weights.contains($0.0) }
    for position in [1, 4, Self.context - 2] {
      let expected = try reference.run(inputs: Self.inputs(arguments, position: position, after: 0))[0]
      let poisoned = Self.inputs(arguments, position: position, after: .nan)
      #expect(try reference.run(inputs: poisoned)[0].doubles.contains { $0.isNaN })
      let actual = try compiled.run(inputs: poisoned)[0]
      #expect(
        TestSupport.toleranceRatio(actual, expected, atol: 1e-4, rtol: 1e-3) <= 1,
        "\(name) at position \(position): \(actual.preview()) vs \(expected.preview())")
    }
  }
}
