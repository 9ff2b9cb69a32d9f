import TesseraIR

/// What a fused group computes, which decides how it is lowered.
public enum GroupKind: String, Hashable, Sendable {
  /// Elementwise and movement ops evaluated per output element.
  case elementwise
  /// One reduction with an elementwise prologue (on its input) and epilogue (on its result).
  case reduction
  /// One matmul (or `conv2d`) with an elementwise epilogue on its result.
  case matmul
  /// One op computed by a library kernel (softmax, norms, rope, concat…).
  case library
  /// A decode step's attention: the scores' matmul and mask, the softmax and the product by the
  /// values, in one kernel (``AttentionFusion``).
  case attention
  /// A reshape: no kernel, the result shares its operand's buffer.
  case alias
  /// A constant: stored with the weights, no kernel.
  case constant
}

/// A set of graph nodes that becomes one kernel (or none, for aliases and constants).
public struct FusedGroup: Hashable, Sendable {
  /// How it is lowered.
  public var kind: GroupKind
  /// Node indices in graph order; the last one is the root, whose result the group writes.
  public var nodes: [Int]
  /// The value the group materialises.
  public var root: ValueID
}

/// Why a producer was not fused into its consumer: shown in the plan.
public struct FusionRefusal: Hashable, Sendable {
  /// The producer's result.
  public var value: ValueID
  /// The reason, e.g. "used by 2 kernels".
  public var reason: String
}

/// Groups nodes into kernels: elementwise and movement chains fuse into their consumer,
/// reductions take an elementwise prologue and epilogue, matmuls take an elementwise epilogue.
///
/// A producer joins its consumer's group only when every use of it is inside that group and it
/// is not a returned value; otherwise it is materialised and the refusal is recorded. The
/// exceptions are `dequantize` and the widening `cast` of f16 or bf16 to f32 (a weight's decode),
/// which are recomputed inside each consumer kernel that can fuse them.
public enum Fusion {
  /// The groups in execution order and the refusals.
  /// `runsOnTarget` says which nodes the target supports: a node never shares a kernel with a
  /// node that runs on the other device. `readsTransposedOperands` says which matmuls take a
  /// `transpose` of an operand into their group, reading the operand through permuted indices
  /// instead of a transposed copy (the small matmuls of the GPU targets' generated kernel: a
  /// decode step's attention over the KV cache); a weight's decode is never taken that way.
  /// `pairsProducts(node, product)` says which matmul `node` joins the group of another
  /// `product` whose epilogue reads it, one kernel computing both (a feed-forward's gate with its
  /// up product: both read the same activation, and `silu(gate) · up` is the epilogue).
  /// `normsProducts` says which matmuls take an `rms_norm` over the last axis of their left
  /// operand into their kernel, which computes the norm on the way (a decode step's projections
  /// by quantized weights read in place); like a weight's decode, such a norm is recomputed in
  /// each product kernel that reads it. `scalesConvolutionInputs` says which convolutions take
  /// the `mul` scaling their input per channel into their kernel (``ConvolutionInputScale``),
  /// what that `mul` reads staying materialised. With `computesUpdates`, an `update_slice` written in
  /// place over an argument (a KV cache's new rows) takes the elementwise ops, RoPE and reshapes
  /// that produce its update into its kernel, and a product that `writesUpdates` allows (the
  /// value projection: the product's kernel then stores into the cache).
  public static func groups(
    _ graph: Graph, runsOnTarget: (Node) -> Bool = { _ in true },
    readsTransposedOperands: @escaping (Node) -> Bool = { _ in false },
    pairsProducts: @escaping (Node, Node) -> Bool = { _, _ in false },
    normsProducts: @escaping (Node) -> Bool = { _ in false },
    scalesConvolutionInputs: @escaping (Node) -> Bool = { _ in false }, computesUpdates: Bool = false,
    writesUpdates: @escaping (Node) -> Bool = { _ in false }
  ) -> (groups: [FusedGroup], refusals: [FusionRefusal]) {
    let choices = Choices(
      readsTransposedOperands: readsTransposedOperands, pairsProducts: pairsProducts, normsProducts: normsProducts,
      scalesConvolutionInputs: scalesConvolutionInputs, computesUpdates: computesUpdates, writesUpdates: writesUpdates)
    let users = Users(graph)
    let returned = Set(graph.results)
    var groupOf: [Int: Int] = [:]  // node index -> group id
    var members: [[Int]] = []
    var kinds: [GroupKind] = []
    var refusals: [FusionRefusal] = []

    for index in graph.nodes.indices.reversed() {
      let node = graph.nodes[index]
      let consumerGroups = Set(users.of(node.result).compactMap { groupOf[$0] })
      if consumerGroups.count == 1, !returned.contains(node.result) {
        let target = consumerGroups.first!
        let sameDevice = runsOnTarget(node) == runsOnTarget(graph.nodes[members[target].max()!])
        if let reason = sameDevice
          ? refusal(node, joining: members[target], kinds[target], graph, users, choices)
          : "it runs on another device"
        {
          if node.kind != .constant || !isSplat(node.literal!) {
            refusals.append(FusionRefusal(value: node.result, reason: reason))
          }
        } else {
          members[target].append(index)
          if node.kind.family == .reduction { kinds[target] = .reduction }
          if isProduct(node) { kinds[target] = .matmul }
          groupOf[index] = target
          continue
        }
      } else if isWeightDecode(node, graph) || node.kind == .rmsNorm, consumerGroups.count > 1 {
        // Decoding reads only its quantized or 16-bit operand and costs little: recompute it
        // inside every consumer kernel that can fuse it, and materialise it only for those that
        // cannot (a tied embedding's table: the lookup reads its rows, the output matmul `w`).
        // So is a norm that product kernels compute on the way (attention's q, k and v).
        var materialise = returned.contains(node.result)
        for target in consumerGroups.sorted() {
          let sameDevice = runsOnTarget(node) == runsOnTarget(graph.nodes[members[target].max()!])
          if sameDevice, refusal(node, joining: members[target], kinds[target], graph, users, choices) == nil {
            members[target].append(index)
          } else {
            materialise = true
          }
        }
        if !materialise {
          groupOf[index] = consumerGroups.min()!
          continue
        }
      } else if !consumerGroups.isEmpty && isFusible(node) {
        let reason =
          returned.contains(node.result) ? "returned by the function" : "used by \(consumerGroups.count) kernels"
        refusals.append(FusionRefusal(value: node.result, reason: reason))
      }
      groupOf[index] = members.count
      members.append([index])
      kinds.append(initialKind(node))
    }
    let groups = zip(members, kinds).map { nodes, kind in
      let sorted = nodes.sorted()
      return FusedGroup(kind: kind, nodes: sorted, root: graph.nodes[sorted.last!].result)
    }
    return (groups.sorted { $0.nodes.last! < $1.nodes.last! }, refusals.reversed())
  }

  /// Whether `node` is the core of a `matmul` group: a matmul, or a `conv2d` (on a target that
  /// keeps it whole; the same epilogues follow it).
  static func isProduct(_ node: Node) -> Bool { node.kind == .matmul || node.kind == .conv2d }

  /// `dequantize`, or a `cast` to f32 of an f16 or bf16 argument or constant (a weight: what it
  /// reads is never a value another group could fuse).
  private static func isWeightDecode(_ node: Node, _ graph: Graph) -> Bool {
    if node.kind == .dequantize { return true }
    guard let source = graph.widenedSixteenBitOperand(of: node) else { return false }
    return graph.arguments.contains(source) || graph.nodes.contains { $0.result == source && $0.kind == .constant }
  }

  /// Elementwise and movement ops that can be evaluated per element inside another kernel.
  static func isFusible(_ node: Node) -> Bool {
    node.kind.isElementwise || [.transpose, .broadcast, .slice, .gather, .dequantize, .rope].contains(node.kind)
  }

  private static func initialKind(_ node: Node) -> GroupKind {
    if node.kind == .constant { return .constant }
    if node.kind == .reshape { return .alias }
    if isProduct(node) { return .matmul }
    if node.kind.family == .reduction { return .reduction }
    return isFusible(node) ? .elementwise : .library
  }

  /// The target's answers to the fusions it chooses (``groups(_:runsOnTarget:readsTransposedOperands:pairsProducts:normsProducts:scalesConvolutionInputs:computesUpdates:writesUpdates:)``).
  private struct Choices {
    let readsTransposedOperands: (Node) -> Bool
    let pairsProducts: (Node, Node) -> Bool
    let normsProducts: (Node) -> Bool
    let scalesConvolutionInputs: (Node) -> Bool
    let computesUpdates: Bool
    let writesUpdates: (Node) -> Bool
  }

  /// Why `node` may not join a group with these members and kind, or `nil` when it may.
  private static func refusal(
    _ node: Node, joining members: [Int], _ kind: GroupKind, _ graph: Graph, _ users: Users, _ choices: Choices
  ) -> String? {
    let root = graph.nodes[members.max()!]
    switch kind {
    case .constant, .alias: return "its consumer is a \(kind.rawValue)"
    case .library where choices.computesUpdates && UpdateSlice.inPlaceBase(of: root, in: graph) != nil:
      return updateRefusal(node, joining: members, graph, choices)
    case .library, .attention:
      return "its consumer \(root.kind) is a library kernel that reads materialised operands"
    case .matmul, .reduction, .elementwise: break
    }
    if node.kind == .constant {
      return isSplat(node.literal!) ? nil : "a non-splat constant is read from the weights"
    }
    if node.kind == .rmsNorm { return normRefusal(node, joining: members, kind, graph, users, choices) }
    if isProduct(node) || node.kind.family == .reduction {
      let shape = graph.type(of: root.result).shape
      let products = members.filter { isProduct(graph.nodes[$0]) }
      let pairs = kind == .matmul && products.count == 1 && choices.pairsProducts(node, graph.nodes[products[0]])
      guard kind == .elementwise || pairs else { return "the consumer kernel already has a \(kind.rawValue)" }
      let epilogueKeepsShape = members.map { graph.nodes[$0] }.allSatisfy {
        $0.kind == .constant
          || (($0.kind.isElementwise || pairs && isProduct($0)) && graph.type(of: $0.result).shape == shape)
      }
      return epilogueKeepsShape && graph.type(of: node.result).shape == shape ? nil : "its epilogue changes the shape"
    }
    guard isFusible(node) else { return "\(node.kind) is not fused into other kernels" }
    if kind == .reduction, node.kind.isElementwise,
      case let chain = elementwiseChain(ending: node, graph, users),
      node.operands.contains(where: { continuesProductEpilogue($0, within: chain, graph, users) })
    {
      return "it belongs to the epilogue of the matmul or convolution it reads"
    }
    if graph.type(of: node.result).dtype.isQuantized { return "quantized values are materialised" }
    if kind == .elementwise, node.kind.isElementwise {
      let count = graph.type(of: node.result).shape.count, rootCount = graph.type(of: root.result).shape.count
      if count * broadcastRecomputeLimit <= rootCount {
        return "its \(count) elements are broadcast to \(rootCount): computed once, not per element"
      }
    }
    if kind == .matmul,
      let reader = members.first(where: {
        let member = graph.nodes[$0]
        return (isProduct(member) || member.kind == .rmsNorm || isInputScale(member, among: members, graph))
          && users.of(node.result).contains($0)
      })
    {
      let readerNode = graph.nodes[reader]
      let readsInPlace =
        node.kind == .transpose && choices.readsTransposedOperands(readerNode)
        && !(users.producer(of: node.operands[0]).map { isWeightDecode(graph.nodes[$0], graph) } ?? false)
      let scalesInput =
        choices.scalesConvolutionInputs(readerNode) && ConvolutionInputScale(node, of: readerNode, in: graph) != nil
      switch readerNode.kind {
      case _ where readsInPlace || scalesInput: return nil
      case .rmsNorm: return "an rms_norm in a matmul kernel reads materialised operands"
      case .mul: return "a convolution's input scale reads materialised operands"
      default: return "a matmul reads materialised operands"
      }
    }
    return nil
  }

  /// Whether `member` is the `mul` scaling the input of a convolution among `members`
  /// (``ConvolutionInputScale``).
  private static func isInputScale(_ member: Node, among members: [Int], _ graph: Graph) -> Bool {
    member.kind == .mul
      && members.contains { ConvolutionInputScale(member, of: graph.nodes[$0], in: graph) != nil }
  }

  /// Why `node` may not join the group of an `update_slice` written in place over an argument
  /// (``Choices/computesUpdates``), or `nil` when it may: an elementwise or movement op, RoPE or
  /// a reshape producing its update, or a product the target lets write it
  /// (``Choices/writesUpdates``) with only elementwise ops of its shape after it (its kernel
  /// stores each output where it is computed, and RoPE reads a neighbouring output).
  private static func updateRefusal(
    _ node: Node, joining members: [Int], _ graph: Graph, _ choices: Choices
  ) -> String? {
    let root = graph.nodes[members.max()!]
    if isFusible(node) || node.kind == .reshape {
      return graph.type(of: node.result).dtype.isQuantized ? "quantized values are materialised" : nil
    }
    guard isProduct(node), choices.writesUpdates(node) else {
      return "its consumer \(root.kind) is a library kernel that reads materialised operands"
    }
    let shape = graph.type(of: node.result).shape
    let between = members.filter { $0 != members.max()! }.map { graph.nodes[$0] }
    let elementwise = between.allSatisfy { $0.kind.isElementwise && graph.type(of: $0.result).shape == shape }
    return elementwise && graph.type(of: root.operands[1]).shape == shape
      ? nil : "only elementwise ops may lie between a product and the cache it writes"
  }

  /// Why an `rms_norm` may not join a matmul group, or `nil` when every member reading it is a
  /// product taking it as its left operand that the target lets compute the norm
  /// (`normsProducts`), and it normalises the last axis.
  private static func normRefusal(
    _ node: Node, joining members: [Int], _ kind: GroupKind, _ graph: Graph, _ users: Users, _ choices: Choices
  ) -> String? {
    guard kind == .matmul else { return "rms_norm joins only the products that read it" }
    let shape = graph.type(of: node.result).shape
    guard shape.normalizedAxis(node.attributes.int("axis") ?? -1) == shape.rank - 1,
      graph.type(of: node.operands[1]).shape.dims == [shape.dims.last!]
    else { return "the norm is not over the last axis with a weight of its length" }
    let readers = members.filter { users.of(node.result).contains($0) }.map { graph.nodes[$0] }
    let normed = readers.allSatisfy {
      isProduct($0) && $0.operands[0] == node.result && $0.operands[1] != node.result && choices.normsProducts($0)
    }
    return normed ? nil : "its readers in the kernel are not products that compute the norm"
  }

  /// How many times smaller than an elementwise kernel's output a computed value must be for
  /// it to stay its own (small) kernel: fused, it would be computed again for every element it
  /// is broadcast to (a squeeze-and-excitation gate, a norm's per-row scale).
  static let broadcastRecomputeLimit = 8

  /// Whether `value` is a matmul's or `conv2d`'s result, or an elementwise chain over one, every
  /// link read only inside `chain` (the elementwise ops that lead to the op asking; a decomposed
  /// `HardSwish`, `x · clamp(x/6 + 1/2)`, reads its `x` twice): an elementwise op reading it then
  /// joins the product's epilogue (free on the native kernels) rather than a reduction's
  /// prologue (which would leave the product bare and the reduction generated).
  private static func continuesProductEpilogue(
    _ value: ValueID, within chain: Set<Int>, _ graph: Graph, _ users: Users
  ) -> Bool {
    guard users.of(value).allSatisfy(chain.contains), let index = users.producer(of: value) else { return false }
    let node = graph.nodes[index]
    return isProduct(node)
      || (node.kind.isElementwise
        && node.operands.contains { continuesProductEpilogue($0, within: chain, graph, users) })
  }

  /// The elementwise op `node` and the elementwise ops before it that its operands come from,
  /// transitively (node indices).
  private static func elementwiseChain(ending node: Node, _ graph: Graph, _ users: Users) -> Set<Int> {
    var chain = Set<Int>(), pending = [node]
    if let index = users.producer(of: node.result) { chain.insert(index) }
    while let next = pending.popLast() {
      for operand in next.operands {
        guard let index = users.producer(of: operand), graph.nodes[index].kind.isElementwise,
          chain.insert(index).inserted
        else { continue }
        pending.append(graph.nodes[index])
      }
    }
    return chain
  }

  static func isSplat(_ tensor: Tensor) -> Bool {
    guard !tensor.dtype.isQuantized else { return false }
    let values = tensor.doubles
    return values.allSatisfy { $0 == values[0] || ($0.isNaN && values[0].isNaN) }
  }
}

/// The nodes that read each value, and the node that defines it.
struct Users {
  private var table: [ValueID: [Int]] = [:]
  private var producers: [ValueID: Int] = [:]

  init(_ graph: Graph) {
    for (index, node) in graph.nodes.enumerated() {
      for operand in Set(node.operands) { table[operand, default: []].append(index) }
      producers[node.result] = index
    }
  }

  func of(_ value: ValueID) -> [Int] { table[value] ?? [] }

  /// The index of the node whose result `value` is (nil for arguments).
  func producer(of value: ValueID) -> Int? { producers[value] }
}
