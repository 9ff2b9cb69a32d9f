import TesseraIR

/// How to compile: the graph passes, the kernel library, the fallback device.
public struct CompileOptions: Sendable {
  /// Graph passes run before fusion, after the target's decompositions.
  public var passes: [any GraphPass]
  /// Hand-written kernels to prefer over generated ones.
  public var library: (any KernelLibrary)?
  /// Where kernels the target cannot run go.
  public var fallback: String

  /// Creates options; the default runs dead-code elimination and falls back to `cpu`.
  public init(
    passes: [any GraphPass] = [DeadCodeElimination()], library: (any KernelLibrary)? = nil, fallback: String = "cpu"
  ) {
    self.passes = passes
    self.library = library
    self.fallback = fallback
  }
}

/// The graph compiler's entry point: passes, fusion, kernels, partitioning, memory planning.
public enum GraphCompiler {
  /// Compiles a verified graph for `target`. `afterEachPass` receives each pass's result
  /// (`--print-after-all`).
  public static func compile(
    _ graph: Graph, target: TargetCapabilities, options: CompileOptions = CompileOptions(),
    afterEachPass: ((String, Graph) -> Void)? = nil
  ) throws(CompileError) -> CompiledPlan {
    try CompileInstrumentation.phase("compile @\(graph.name) for \(target.name)") { () throws(CompileError) in
      try plan(graph, target: target, options: options, afterEachPass: afterEachPass)
    }
  }

  /// ``compile(_:target:options:afterEachPass:)``, phase by phase.
  private static func plan(
    _ graph: Graph, target: TargetCapabilities, options: CompileOptions, afterEachPass: ((String, Graph) -> Void)?
  ) throws(CompileError) -> CompiledPlan {
    // Without a kernel library, composites that need a hand-written kernel become core ops.
    let needsLibrary: Set<OpKind> = options.library == nil ? [.softmax, .rmsNorm, .layerNorm] : []
    let decompose = target.decompose.union(needsLibrary).intersection(DecomposeComposites.decomposable)
    let windows: [any GraphPass] =
      DecomposeWindows.applies(to: graph, keeping: target.windowKernels)
      ? [DecomposeWindows(keeping: target.windowKernels), HoistEpilogueAboveReshape()] : []
    let passes = windows + (decompose.isEmpty ? [] : [DecomposeComposites(kinds: decompose)]) + options.passes
    var optimised = try PassManager(passes).run(graph, afterEach: afterEachPass)
    var libraryCalls = options.library.map { LibraryCalls(library: $0.adapted(to: target)) }
    let declined = declinedComposites(optimised, library: &libraryCalls)
    if !declined.isEmpty {
      optimised = try PassManager([DecomposeComposites(kinds: declined)] + options.passes).run(
        optimised, afterEach: afterEachPass)
    }
    let isSmallProduct = { (node: Node) in
      node.kind == .matmul
        && ProductEpilogueSplit.multiplyAdds(node, optimised) < ProductEpilogueSplit.minimumMultiplyAdds
    }
    let definingNode = optimised.definingNode
    var (groups, refusals) = CompileInstrumentation.phase("fusion") {
      Fusion.groups(
        optimised, runsOnTarget: { Partitioner.supports(target, $0, optimised) == nil },
        readsTransposedOperands: { target.matmulsReadTransposedOperands && isSmallProduct($0) },
        pairsProducts: {
          target.pairsQuantizedProducts
            && QuantizedProductPair.pairs($0, $1, in: optimised, definingNode: definingNode, target)
        },
        normsProducts: {
          target.fusesNormsIntoProducts
            && optimised.type(of: $0.operands[0]).shape.dims.last! <= FusedRowNorm.stagedElements
            && QuantizedProductPair.runsPerOutput($0, in: optimised, definingNode: definingNode, target)
        },
        scalesConvolutionInputs: { target.scalesConvolutionInputs && ConvolutionInputScale.takes($0, in: optimised) },
        computesUpdates: target.computesCacheUpdates,
        writesUpdates: { QuantizedProductPair.runsPerOutput($0, in: optimised, definingNode: definingNode, target) })
    }
    if target.fusesAttention {
      groups = AttentionFusion.merged(groups, in: optimised) {
        isSmallProduct($0) && Partitioner.supports(target, $0, optimised) == nil
      }
    }
    groups = SiblingMatmulOrder.ordered(groups, in: optimised)
    if target.splitsLargeProducts, libraryCalls != nil {
      groups = ProductEpilogueSplit.split(
        groups, in: optimised, runsBare: { libraryCalls!.call(for: $0, in: optimised) != nil },
        readsWeightInPlace: { weightReadInPlace(by: $0, in: optimised, definingNode: definingNode, target) != nil })
    }
    var calls: [KernelCall?] = []
    var reads: [[ValueID]] = []
    try CompileInstrumentation.phase("kernels") { () throws(CompileError) in
      for (index, group) in groups.enumerated() {
        let call = try kernel(
          for: group, in: optimised, index: index, target: target, library: &libraryCalls,
          definingNode: definingNode)
        calls.append(call)
        reads.append(Self.reads(of: call, group: group, in: optimised))
      }
    }
    let kept = stepsRead(optimised, groups: groups, reads: reads)
    (groups, calls, reads) = (kept.map { groups[$0] }, kept.map { calls[$0] }, kept.map { reads[$0] })
    let memory = CompileInstrumentation.phase("memory plan") {
      MemoryPlanner.plan(optimised, groups: groups, reads: reads)
    }
    let partition = CompileInstrumentation.phase("partition") {
      Partitioner.assign(optimised, groups: groups, reads: reads, target: target, fallback: options.fallback)
    }
    var steps = groups.indices.map { index in
      PlanStep(
        group: groups[index], call: calls[index], device: partition.devices[index],
        fallbackReason: partition.reasons[index])
    }
    if target.mergesIndependentLaunches {
      steps = LaunchMerging.merged(steps, memory: memory, device: target.name, maxBuffers: target.maxKernelBuffers)
    }
    return CompiledPlan(
      graph: optimised, target: target, fallback: options.fallback, steps: steps, refusals: refusals,
      transfers: partition.transfers, memory: memory)
  }

  /// Composites left for the library that it has no kernel for (a `layer_norm` over another
  /// axis than the last, an f16 `softmax`): the generator cannot emit them, so they become core ops.
  private static func declinedComposites(_ graph: Graph, library: inout LibraryCalls?) -> Set<OpKind> {
    guard library != nil else { return [] }
    let composites: Set<OpKind> = [.softmax, .rmsNorm, .layerNorm]
    return Set(
      graph.nodes.filter { composites.contains($0.kind) && library!.call(for: $0, in: graph) == nil }.map(\.kind))
  }

  /// The values a step reads, for liveness: its kernel's read buffers, or an alias's source.
  static func reads(of call: KernelCall?, group: FusedGroup, in graph: Graph) -> [ValueID] {
    call.map(\.reads) ?? (group.kind == .alias ? graph.nodes[group.nodes[0]].operands : [])
  }

  /// The indices of the groups to run: all but the elementwise groups whose result no step
  /// that runs reads and the function does not return (the `transpose(dequantize(w))` of a
  /// matmul that reads `w` in place).
  private static func stepsRead(_ graph: Graph, groups: [FusedGroup], reads: [[ValueID]]) -> [Int] {
    var needed = Set(graph.results)
    var kept: [Int] = []
    for index in groups.indices.reversed() {
      guard groups[index].kind != .elementwise || needed.contains(groups[index].root) else { continue }
      kept.append(index)
      needed.formUnion(reads[index])
    }
    return kept.reversed()
  }

  private static func kernel(
    for group: FusedGroup, in graph: Graph, index: Int, target: TargetCapabilities, library: inout LibraryCalls?,
    definingNode: [ValueID: Int]
  ) throws(CompileError) -> KernelCall? {
    guard group.kind != .alias && group.kind != .constant else { return nil }
    let root = graph.nodes[group.nodes.last!]
    let name = "k\(index)_\(root.kind.rawValue)"
    let quantizedWeights =
      group.kind == .matmul
      ? group.nodes.compactMap { index -> (core: Node, weight: ValueID)? in
        let node = graph.nodes[index]
        return weightReadInPlace(by: node, in: graph, definingNode: definingNode, target).map { (node, $0) }
      } : []
    if quantizedWeights.isEmpty, group.nodes.count == 1, !KernelGenerator.ropesByPairs(root, in: graph), library != nil,
      var call = library!.call(for: root, in: graph)
    {
      call.kernel.name = name
      return call
    }
    return try KernelGenerator.generate(
      group, in: graph, name: name, definingNode: definingNode, quantizedWeights: quantizedWeights,
      quantizedShape: QuantizedMatmulShape(target: target),
      attentionLanes: target.reductionLanes ?? KernelGenerator.reductionLanes,
      attentionVectorLanes: target.streamsQuantizedRows ? KernelGenerator.attentionVectorLanes : nil)
  }

  /// The quantized (or 16-bit) weight `node` reads in place on `target`
  /// (``KernelGenerator/quantizedWeight(of:in:definingNode:)``), or `nil`: none on targets that
  /// do not read weights in place, nor for a product of ``TargetCapabilities/dequantizedProductRows``
  /// rows of x or more that the library's blocked matmul takes (``ProductEpilogueSplit``), whose
  /// decoded transpose is then materialised for it.
  static func weightReadInPlace(
    by node: Node, in graph: Graph, definingNode: [ValueID: Int], _ target: TargetCapabilities
  ) -> ValueID? {
    guard target.matmulsReadQuantizedWeights,
      let weight = KernelGenerator.quantizedWeight(of: node, in: graph, definingNode: definingNode)
    else { return nil }
    let decoded =
      target.dequantizedProductRows.map { activationRows(of: node, in: graph) >= $0 } == true
      && ProductEpilogueSplit.multiplyAdds(node, graph) >= ProductEpilogueSplit.minimumMultiplyAdds
    return decoded ? nil : weight
  }

  /// The rows of x a matmul multiplies: its result's elements over its last axis (every row of
  /// every batch).
  static func activationRows(of node: Node, in graph: Graph) -> Int {
    let result = graph.type(of: node.result).shape
    return result.count / Swift.max(1, result.dims.last ?? 1)
  }
}
