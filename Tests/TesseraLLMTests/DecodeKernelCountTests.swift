import Tessera
import TesseraTestSupport
import Testing

/// How many kernels a Llama decode step launches a layer on each target's capabilities (issue 17
/// counts them). Of the 19 a layer had, a GPU drops the two transposed copies of the caches
/// (matmuls read them in place), three of the attention's four kernels (one fused kernel), the
/// gate's product (paired with up's), both RMS norms (computed by the products that read them),
/// and both cache writes as kernels of their own (the key's computes its RoPE, the value
/// projection stores into its cache): 9. CPU drivers (lavapipe, PoCL) keep their norms, and
/// launch q, k and v's products as one and the queries' RoPE with the keys' cache write as
/// another (``LaunchMerging``): 8. Outside the
/// layers: the embedding lookup, the mask, the last norm (but on a GPU, where the output
/// product computes it), the output product and the argmax.
@Suite("Kernels a decode step launches")
struct DecodeKernelCountTests {
  private static let options = CompileOptions(
    passes: PassPipeline.standard(evaluator: ReferenceConstantEvaluator()), library: StandardKernelLibrary())

  /// A CPU OpenCL driver's capabilities, as `OpenCLDevice` sets them for PoCL.
  private static var cpuDriver: TargetCapabilities {
    var target = TargetCapabilities.gpu("opencl")
    target.streamsQuantizedRows = true
    target.reductionLanes = 4
    target.fusesNormsIntoProducts = false
    target.mergesIndependentLaunches = true
    return target
  }

  /// A CPU Vulkan implementation's, as `VulkanDevice` sets them for lavapipe.
  private static var cpuVulkan: TargetCapabilities {
    var target = TargetCapabilities.gpu("vulkan")
    target.dequantizedProductRows = TargetCapabilities.tiledProductRows
    target.fusesNormsIntoProducts = false
    target.mergesIndependentLaunches = true
    return target
  }

  @Test(arguments: [("a GPU", 9, 4), ("lavapipe", 8, 5), ("opencl on a CPU driver", 8, 5)])
  func kernelsPerLayer(target name: String, perLayer: Int, outside: Int) throws {
    let tiny = TinyLlama()
    let plan = try Self.plan(
      name == "a GPU" ? TargetCapabilities.gpu("vulkan") : name == "lavapipe" ? Self.cpuVulkan : Self.cpuDriver)
    let kernels = plan.steps.filter { $0.call != nil }.count
    #expect(kernels == perLayer * tiny.layers + outside, "\(plan.steps.compactMap { $0.call?.kernel.name })")
  }

  @Test("on a GPU each cache write computes its rows in place: the key's with RoPE, the value's in its product")
  func cacheWritesComputeTheirRows() throws {
    let plan = try Self.plan(TargetCapabilities.gpu("vulkan"))
    let writes = plan.steps.filter { plan.graph.nodes[$0.group.nodes.last!].kind == .updateSlice }
    func count(_ kind: OpKind) -> Int {
      writes.filter { $0.group.nodes.contains { plan.graph.nodes[$0].kind == kind } }.count
    }
    #expect(writes.count == 2 * TinyLlama().layers)
    #expect(count(.rope) == writes.count / 2 && count(.matmul) == writes.count / 2)
    for write in writes {
      guard case .alias(let base)? = plan.memory.homes[write.group.root] else {
        Issue.record("\(write.call?.kernel.name ?? "?") writes a copy of its cache")
        continue
      }
      #expect(plan.graph.arguments.contains(base))
    }
  }

  @Test("a CPU driver's merged launches: q, k and v in one, no kernel of one reading or writing what another writes")
  func mergedLaunches() throws {
    let plan = try Self.plan(Self.cpuDriver)
    let merged = plan.steps.compactMap(\.call).filter { $0.kernel.name.contains("__") }
    #expect(merged.count == 2 * TinyLlama().layers)
    #expect(merged.filter { $0.kernel.name.components(separatedBy: "__").count == 3 }.count == TinyLlama().layers)
    for call in merged {
      // The merged kernel names each buffer of its `i`th kernel `m<i>_…`.
      let parts = Dictionary(grouping: zip(call.kernel.buffers, call.buffers)) { $0.0.name.prefix { $0 != "_" } }
      #expect(parts.count == call.kernel.name.components(separatedBy: "__").count)
      for (a, first) in parts {
        for (b, second) in parts where a != b {
          let written = first.filter { $0.0.access != .read }.map { Self.bytes(of: $0.1, plan.memory) }
          for (_, value) in second {
            let touched = Self.bytes(of: value, plan.memory)
            #expect(
              !written.contains { $0.storage == touched.storage && $0.range.overlaps(touched.range) },
              "\(call.kernel.name): %\(plan.graph[value].name) meets what \(a) writes")
          }
        }
      }
    }
  }

  /// Where a value's bytes are: its storage value, and the range of the arena or the whole buffer.
  private static func bytes(of value: ValueID, _ memory: MemoryPlan) -> (storage: ValueID?, range: Range<Int>) {
    let storage = memory.storage(of: value)
    guard case .arena(let offset)? = memory.homes[storage] else { return (storage, 0..<Int.max) }
    return (nil, offset..<offset + (memory.bytes[storage] ?? 1))
  }

  private static func plan(_ target: TargetCapabilities) throws -> CompiledPlan {
    let model = try LlamaModel(path: try TinyLlama().write())
    let graph = try LlamaGraph.decode(config: model.config, weights: model.weights, context: 16, greedy: true)
    return try GraphCompiler.compile(graph, target: target, options: options)
  }
}
