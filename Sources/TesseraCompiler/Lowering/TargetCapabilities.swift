import TesseraIR

/// What a target can run: the partitioner sends every kernel with an op or dtype outside these
/// sets to the fallback device, with explicit transfers.
public struct TargetCapabilities: Hashable, Sendable {
  /// The device family name used in plans (`opencl`, `vulkan`, `npu`, `cpu`…).
  public var name: String
  /// Graph ops the target's kernels implement.
  public var ops: Set<OpKind>
  /// Element types the target computes with.
  public var dtypes: Set<DType>
  /// Composite ops rewritten into core ops before fusion on this target.
  public var decompose: Set<OpKind>
  /// Whether a matmul whose right operand is `transpose(dequantize(w))` of a rank-2 quantized
  /// `w` becomes one kernel that reads `w`'s blocks in place (several of `w`'s rows per
  /// workgroup, lanes splitting K, a subgroup reduction or a shared-memory tree), so that the
  /// dequantized copy is never materialised. Targets with native kernels of their own for the
  /// pattern (`cpu`) leave it off.
  public var matmulsReadQuantizedWeights: Bool
  /// Whether a large matmul runs bare on the kernel library's blocked kernel with its epilogue as
  /// a kernel of its own (``ProductEpilogueSplit``), rather than fused into a generated
  /// per-element matmul: the GPU targets. Off by default.
  public var splitsLargeProducts = false
  /// The untuned tiling of the kernel library's staged matmul, which large f32 and f16 products
  /// take on GPUs (A's and B's slices staged in shared memory once for a workgroup, each
  /// work-item's results in registers; a tuning may choose another: ``stagedMatmulTiling``);
  /// `nil` (the default, and OpenCL and Vulkan on CPU drivers): the
  /// register-blocked kernel reading global memory, measured faster where caches, not shared
  /// memory, give the reuse (docs/opencl-gemm.md).
  public var stagedMatmul: MatmulTiling?
  /// Whether a matmul below ``ProductEpilogueSplit/minimumMultiplyAdds`` (one the kernel
  /// library does not take, so the generated per-element kernel runs it) reads a `transpose` of
  /// an operand through permuted indices, the transpose fused into its kernel, instead of a
  /// transposed copy made by a kernel of its own: a decode step's attention reads the KV cache
  /// as it is (the GPU targets). Off by default: the `cpu` device's native matmuls take strided
  /// operands of their own.
  public var matmulsReadTransposedOperands = false
  /// Rows of x from which a matmul by a quantized weight multiplies a decoded copy of the weight
  /// on the kernel library's blocked matmul instead of reading the blocks in place (a prefill's
  /// products): Vulkan devices that run on the CPU (lavapipe), where the blocked matmul is 3× the
  /// tiled quantized kernel. `nil` (the default): always in place.
  public var dequantizedProductRows: Int?
  /// Rows of x from which a product by a quantized weight takes the tiled kernel where the target
  /// tiles (``TiledQuantizedMatmul``): a prefill's products.
  public static let tiledProductRows = TiledQuantizedMatmul.tile
  /// Whether two matmuls of one activation by quantized weights read in place, one the other's
  /// epilogue reads (a feed-forward's gate and up: `silu(gate) · up`), become one kernel
  /// (``QuantizedProductPair``): the GPU targets. Off by default.
  public var pairsQuantizedProducts = false
  /// Whether a decode step's attention (scores, mask, softmax, product by the values) becomes
  /// one generated kernel (``AttentionFusion``) instead of four or five: the GPU targets. Off
  /// by default.
  public var fusesAttention = false
  /// Whether a product by a quantized weight read in place, with fewer rows of x than the tiled
  /// kernel takes (a decode step's projections), computes the `rms_norm` of its x on the way
  /// instead of reading it from a norm kernel (``Fusion``): the norm's sum of squares comes with
  /// the loads of x, and its scale multiplies each output. The GPU targets. Off by default.
  public var fusesNormsIntoProducts = false
  /// Whether an `update_slice` written in place over an argument (a KV cache's new rows)
  /// computes its update in its own kernel: the elementwise ops, RoPE and reshapes producing it
  /// join the kernel instead of writing the update first, and so does a product by a quantized
  /// weight in the per-output shape with only elementwise ops after it, whose kernel then stores
  /// into the cache (``Fusion``). The GPU targets. Off by default.
  public var computesCacheUpdates = false
  /// Whether a pointwise `conv2d` takes the `mul` that scales its input per channel into its
  /// kernel (``ConvolutionInputScale``: a squeeze-and-excitation gate), instead of a kernel of
  /// its own writing the scaled copy first: the `cpu` device, whose 1x1 convolutions scale the
  /// rows of their SGEMM's B as they pack them. Off by default.
  public var scalesConvolutionInputs = false
  /// Window ops (`conv2d`, `max_pool2d`, `avg_pool2d`) the target runs with kernels of its own
  /// (fusion gives a `conv2d` its epilogue as it gives a matmul one); `decompose-windows` rewrites
  /// the others into core ops.
  public var windowKernels: Set<OpKind>
  /// The work-items of one subgroup when the target's kernels may sum across a subgroup
  /// (``KInstruction/subgroupAdd(_:_:)``, in workgroups whose rows are that many work-items);
  /// `nil` where reductions go through shared memory only. A power of two.
  public var subgroupSize: Int?
  /// Whether the quantized matmul's untuned shape is one work-item per output streaming whole
  /// blocks with vector sums (``QuantizedMatmulTuning/streamed``): for drivers that run a
  /// workgroup as a loop over its work-items on CPU cores (PoCL's CPU device), where lanes
  /// splitting K only add a reduction. Off by default.
  public var streamsQuantizedRows = false
  /// Outputs each work-item of the streamed quantized matmul computes (with
  /// ``streamsQuantizedRows``), reading that many rows of a block-quantized weight as one stream
  /// from a copy with those rows interleaved that the device makes (``KRowInterleave``); `nil`:
  /// one output, read from the weight as it is. OpenCL CPU drivers take 4: they share each load
  /// of x among the rows and stream one sequence of blocks.
  public var interleavedWeightRows: Int?
  /// Whether consecutive independent kernels run as one launch (``LaunchMerging``): OpenCL and
  /// Vulkan CPU drivers (PoCL, lavapipe), where a launch costs more than a small kernel's work.
  public var mergesIndependentLaunches = false
  /// The most buffers one kernel may take: a merged launch (``LaunchMerging``) stays within it.
  /// Vulkan devices set their `maxPerStageDescriptorStorageBuffers` (lavapipe's 32), OpenCL devices
  /// what `CL_DEVICE_MAX_PARAMETER_SIZE` holds of a buffer's two arguments (PoCL's 85).
  public var maxKernelBuffers = Int.max
  /// Work-items per line of the kernel library's line reductions (softmax, rms_norm, layer_norm,
  /// reductions, argmax) and per row of the fused attention kernel's scores, where the target
  /// wants other than the defaults (256 and 64, shared-memory trees); `nil`: the defaults.
  /// OpenCL CPU devices (PoCL, which runs a workgroup as a loop over its work-items and a tree's
  /// barriers as more loops) take 4: SmolLM2's attention 24 → 18 µs a layer there.
  public var reductionLanes: Int?
  /// Launch shapes measured on the device in place of the defaults (`tessera tune`); empty by
  /// default.
  public var tuning = KernelTuning()

  /// Creates a capability set.
  public init(
    name: String, ops: Set<OpKind>, dtypes: Set<DType>, decompose: Set<OpKind> = [],
    matmulsReadQuantizedWeights: Bool = false, windowKernels: Set<OpKind> = [], subgroupSize: Int? = nil
  ) {
    self.name = name
    self.ops = ops
    self.dtypes = dtypes
    self.decompose = decompose
    self.matmulsReadQuantizedWeights = matmulsReadQuantizedWeights
    self.windowKernels = windowKernels
    self.subgroupSize = subgroupSize
  }

  /// Every op and dtype: the CPU and the KIR interpreter; the GPU targets also read quantized
  /// weights in place in matmuls (``matmulsReadQuantizedWeights``), with subgroup sums where the
  /// device has them (``subgroupSize``); the CPU keeps window ops whole (``windowKernels``).
  public static func everything(
    _ name: String, matmulsReadQuantizedWeights: Bool = false, windowKernels: Set<OpKind> = [],
    subgroupSize: Int? = nil
  ) -> TargetCapabilities {
    TargetCapabilities(
      name: name, ops: Set(OpKind.allCases), dtypes: Set(DType.allCases),
      matmulsReadQuantizedWeights: matmulsReadQuantizedWeights, windowKernels: windowKernels,
      subgroupSize: subgroupSize)
  }

  /// A GPU target's (OpenCL's, Vulkan's) before its device's limits: every op and dtype,
  /// quantized weights read in place (``matmulsReadQuantizedWeights``), large matmuls run
  /// bare with their epilogues after them (``splitsLargeProducts``), small ones reading
  /// transposed operands in place (``matmulsReadTransposedOperands``), attention in one
  /// kernel (``fusesAttention``), a feed-forward's gate and up products in one
  /// (``pairsQuantizedProducts``), RMS norms computed by the products that read them
  /// (``fusesNormsIntoProducts``), a KV cache's new rows computed where they are written
  /// (``computesCacheUpdates``) and large matmuls staged through shared memory (``stagedMatmul``).
  public static func gpu(_ name: String) -> TargetCapabilities {
    var capabilities = everything(name, matmulsReadQuantizedWeights: true)
    capabilities.splitsLargeProducts = true
    capabilities.matmulsReadTransposedOperands = true
    capabilities.fusesAttention = true
    capabilities.pairsQuantizedProducts = true
    capabilities.fusesNormsIntoProducts = true
    capabilities.computesCacheUpdates = true
    capabilities.stagedMatmul = MatmulTiling()
    return capabilities
  }
}

/// A copy between devices that the partition needs.
public struct Transfer: Hashable, Sendable {
  /// The value copied.
  public var value: ValueID
  /// Where it is produced (`host` for arguments and results).
  public var from: String
  /// Where it is needed.
  public var to: String
  /// Bytes copied.
  public var bytes: Int
}

/// Assigns each kernel to the target or the fallback and lists the transfers that follow.
public enum Partitioner {
  /// The device of each group, and the transfers (host → device for inputs, between devices for
  /// values crossing the partition, device → host for results).
  public static func assign(
    _ graph: Graph, groups: [FusedGroup], reads: [[ValueID]], target: TargetCapabilities, fallback: String
  ) -> (devices: [String], reasons: [Int: String], transfers: [Transfer]) {
    var devices: [String] = []
    var reasons: [Int: String] = [:]
    var location: [ValueID: String] = [:]
    for argument in graph.arguments { location[argument] = "host" }
    var transfers: [Transfer] = []
    var copied = Set<String>()
    for (step, group) in groups.enumerated() {
      var device = target.name
      if let reason = group.nodes.lazy.compactMap({ supports(target, graph.nodes[$0], graph) }).first {
        device = fallback
        reasons[step] = reason
      }
      if group.kind == .constant { device = location[group.root] ?? "weights" }
      devices.append(device)
      location[group.root] = group.kind == .alias ? location[graph.nodes[group.nodes[0]].operands[0]] ?? device : device
      guard group.kind != .constant && group.kind != .alias else { continue }
      for value in reads[step] {
        let source = location[value] ?? "weights"
        guard source != device, source != "weights", copied.insert("\(value.index)->\(device)").inserted else {
          continue
        }
        transfers.append(
          Transfer(value: value, from: source, to: device, bytes: graph.type(of: value).storageBytes ?? 0))
      }
    }
    for result in graph.results where location[result] != "host" {
      transfers.append(
        Transfer(
          value: result, from: location[result] ?? "weights", to: "host",
          bytes: graph.type(of: result).storageBytes ?? 0))
    }
    return (devices, reasons, transfers)
  }

  /// Why `target` cannot run `node`, or `nil` when it can.
  public static func supports(_ target: TargetCapabilities, _ node: Node, _ graph: Graph) -> String? {
    if node.kind == .constant { return nil }
    if !target.ops.contains(node.kind) { return "\(target.name) has no \(node.kind)" }
    let dtypes = ([node.result] + node.operands).map { graph.type(of: $0).dtype }
    return dtypes.first { !target.dtypes.contains($0) }.map { "\(target.name) does not compute \($0)" }
  }
}
