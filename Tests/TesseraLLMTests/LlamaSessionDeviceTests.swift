import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// A session on every usable device: weights bound once and shared, a KV cache of its own on
/// the device, and a decode step that moves only the token, its position and the logits.
@Suite("Llama sessions on every device")
struct LlamaSessionDeviceTests {
  private static let registry = DeviceRegistry.standard()
  private static let deviceNames = registry.availableDevices.map(\.info.name)
  private let tiny = TinyLlama()

  /// Logits of `prompt` then `next` on the reference evaluator.
  private func referenceLogits(_ model: LlamaModel, _ prompt: [Int], _ next: Int) throws -> [Float] {
    let session = try LlamaSession(model: model, device: ReferenceDevice(), context: 8)
    _ = try session.prefill(prompt)
    return try session.decode(next)
  }

  @Test("two sessions on one device do not share state, and share the weights", arguments: deviceNames)
  func twoSessions(device name: String) throws {
    let model = try LlamaModel(path: try tiny.write())
    let device = try Self.registry.device(named: name)
    let first = try LlamaSession(model: model, device: device, context: 8)
    let second = try LlamaSession(model: model, device: device, context: 8)
    #expect(first.parameters === second.parameters, "the weights are bound once per device")
    _ = try first.prefill([3, 17, 5])
    _ = try second.prefill([9, 2])
    let (a, b) = (try first.decode(8), try second.decode(8))
    let tolerance: Float = name == "npu" ? 5e-2 : 1e-3  // the NPU multiplies fp16 operands
    for (actual, expected) in [
      (a, try referenceLogits(model, [3, 17, 5], 8)), (b, try referenceLogits(model, [9, 2], 8)),
    ] {
      let worst = zip(actual, expected).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
      #expect(worst <= tolerance, "\(name): worst relative difference \(worst)")
    }
  }

  @Test("each of several decode steps gives the reference's logits for its own sequence", arguments: deviceNames)
  func consecutiveSteps(device name: String) throws {
    try checkConsecutiveSteps(on: try Self.registry.device(named: name), name: name)
  }

  /// The OpenCL and Vulkan devices compiling as for a GPU though they run on the CPU (PoCL and
  /// lavapipe keep some fusions off for speed): attention in one kernel, gate and up paired, RMS
  /// norms computed by the products, RoPE computed in the KV cache's write.
  private static func asForAGPU(_ kind: String) throws -> (any Device)? {
    if kind == "vulkan" { return VulkanProvider(choosesForCPU: false).discover().lazy.compactMap(\.device).first }
    guard let device = registry.availableDevices.first(where: { $0.info.name.hasPrefix("opencl") }) as? OpenCLDevice
    else { return nil }
    var capabilities = device.capabilities
    capabilities.fusesAttention = true
    capabilities.pairsQuantizedProducts = true
    capabilities.fusesNormsIntoProducts = true
    capabilities.computesCacheUpdates = true
    return try device.configured(capabilities: capabilities)
  }

  @Test(
    "decode steps compiled as for a GPU give the reference's logits",
    .enabled(if: deviceNames.contains { $0.hasPrefix("opencl") || $0.hasPrefix("vulkan") }),
    arguments: ["opencl", "vulkan"])
  func consecutiveStepsAsForAGPU(kind: String) throws {
    guard let device = try Self.asForAGPU(kind) else { return }
    try checkConsecutiveSteps(on: device, name: "\(kind) as for a GPU")
  }

  private func checkConsecutiveSteps(on device: any Device, name: String) throws {
    let model = try LlamaModel(path: try tiny.write())
    let session = try LlamaSession(model: model, device: device, context: 8)
    let reference = try LlamaSession(model: model, device: ReferenceDevice(), context: 8)
    _ = try session.prefill([3, 17])
    _ = try reference.prefill([3, 17])
    let tolerance: Float = name == "npu" ? 5e-2 : 1e-3  // the NPU multiplies fp16 operands
    // The same token again at a later position must not give the earlier step's logits.
    for token in [5, 9, 5, 2] {
      let (actual, expected) = (try session.decode(token), try reference.decode(token))
      let worst = zip(actual, expected).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
      #expect(
        worst <= tolerance, "\(name), token \(token) at \(reference.position - 1): worst relative difference \(worst)")
    }
  }

  @Test(
    "a decode step moves the token and position in and the logits out",
    arguments: deviceNames.filter { $0 == "cpu" || $0.hasPrefix("opencl") || $0.hasPrefix("vulkan") })
  func decodeTraffic(device name: String) throws {
    let model = try LlamaModel(path: try tiny.write())
    let session = try LlamaSession(model: model, device: try Self.registry.device(named: name), context: 8)
    _ = try session.prefill([3, 17])
    let traffic = try session.profileDecode(5).traffic
    // The token and the position, copied into kept buffers (even on cpu: see PlanRunner.smallestBorrowed).
    let inputs = 8
    #expect(traffic == Traffic(toDevice: inputs, toHost: 4 * tiny.vocabulary), "\(name): \(traffic)")
    let greedy = try session.profileDecode(5, greedy: true).traffic
    #expect(greedy == Traffic(toDevice: inputs, toHost: 4), "\(name): only the chosen token comes back: \(greedy)")
  }

  @Test(
    "greedy decoding chooses the reference's most likely token on the device",
    arguments: deviceNames.filter { $0 != "npu" })
  func greedyOnDevice(device name: String) throws {
    let model = try LlamaModel(path: try tiny.write())
    let session = try LlamaSession(model: model, device: try Self.registry.device(named: name), context: 8)
    _ = try session.prefill([3, 17, 5])
    let chosen = try session.decodeGreedy(8)
    #expect(session.position == 4)
    let expected = try referenceLogits(model, [3, 17, 5], 8)
    let best = expected.indices.max { expected[$0] < expected[$1] || (expected[$0] == expected[$1] && $0 > $1) }!
    let margin = expected[best] - (expected.indices.filter { $0 != best }.map { expected[$0] }.max() ?? -.infinity)
    #expect(chosen == best || margin < 1e-3, "\(name) chose \(chosen), the reference \(best) (margin \(margin))")
  }
}
