import TesseraIR
import TesseraRuntime

/// Runs a model on one device: a prefill over the prompt, then one decode step per token.
///
/// The weights are bound to the device once (``LlamaModel/parameters(on:)``: uploaded, and on
/// `cpu` tiled at first use) and shared by every graph and session of the model on that device.
/// The KV cache is this session's own: one device tensor per layer for keys and one for values
/// (`f32[context, kvWidth]`), which the graphs update in place. A step sends the token (and the
/// position) and reads back only the logits. The decode graph is compiled once per session;
/// each prompt length compiles its own prefill graph (cached).
public final class LlamaSession {
  /// The model.
  public let model: LlamaModel
  /// The device running the graphs.
  public let device: any Device
  /// Rows of the KV cache: the most tokens (prompt and generated) a sequence can hold.
  public let context: Int
  /// Tokens in the cache so far (the next token's position).
  public private(set) var position = 0
  /// The weights on the device.
  public let parameters: ParameterSet
  /// Each layer's keys then values on the device.
  public let cache: [DeviceTensor]
  /// The cache as the graphs' inputs, made once rather than every step.
  private let cacheValues: [TensorValue]
  private var prefillGraphs: [Int: CompiledGraph] = [:]
  private var decodeGraph: CompiledGraph?
  private var greedyGraph: CompiledGraph?

  /// Creates a session of `context` positions (at most the model's training context): binds
  /// the weights to `device` (once per model and device) and allocates the KV cache there.
  public init(model: LlamaModel, device: any Device, context: Int) throws {
    guard context > 0, context <= model.config.contextLength else {
      throw ModelError.invalidHyperparameters("context \(context) must be in 1...\(model.config.contextLength)")
    }
    self.model = model
    self.device = device
    self.context = context
    parameters = try model.parameters(on: device)
    let type = TensorType(.f32, [context, model.config.kvWidth])
    cache = try (0..<model.config.blockCount).flatMap { layer in
      try ["k", "v"].map { try device.allocate(type, name: "%cache_\($0)_\(layer)") }
    }
    cacheValues = cache.map { .device($0) }
  }

  /// What the device holds now for the model and this session, as its store counts it: the
  /// weights as the device stores them, the KV cache, and everything its store holds.
  public var memory: ModelMemory {
    ModelMemory(
      weights: parameters.allocatedBytes, weightsReadInPlace: parameters.readInPlaceBytes,
      cache: cache.reduce(0) { $0 + $1.memory.allocatedBytes }, total: device.store.allocatedBytes)
  }

  /// Compiles the decode graph now (otherwise the first ``decode(_:)`` does); with `greedy`, the
  /// form that chooses the next token on the device (``decodeGreedy(_:)``).
  public func prepareDecode(greedy: Bool = false) throws {
    try decodeGraph(greedy: greedy)
  }

  /// The decode graph, or its greedy form, compiled at the first call.
  @discardableResult
  private func decodeGraph(greedy: Bool) throws -> CompiledGraph {
    if let compiled = greedy ? greedyGraph : decodeGraph { return compiled }
    let compiled = try device.compile(
      LlamaGraph.decode(config: model.config, weights: model.weights, context: context, greedy: greedy),
      parameters: parameters)
    if greedy { greedyGraph = compiled } else { decodeGraph = compiled }
    return compiled
  }

  /// Compiles the prefill graph for prompts of `tokenCount` tokens now (otherwise the first
  /// ``prefill(_:)`` of that length does); returns it.
  @discardableResult
  public func preparePrefill(tokenCount: Int) throws -> CompiledGraph {
    if let cached = prefillGraphs[tokenCount] { return cached }
    let graph = try device.compile(
      LlamaGraph.prefill(config: model.config, weights: model.weights, tokenCount: tokenCount, context: context),
      parameters: parameters)
    prefillGraphs[tokenCount] = graph
    return graph
  }

  /// Starts a new sequence with `tokens`; returns the logits for the token after them.
  public func prefill(_ tokens: [Int]) throws -> [Float] {
    guard !tokens.isEmpty else { throw ModelError.emptyPrompt }
    guard tokens.count <= context else { throw ModelError.contextFull(tokens: tokens.count, context: context) }
    try checkRange(tokens)
    let run = try preparePrefill(tokenCount: tokens.count).execute([.host(Self.int32s(tokens))] + cacheValues)
    position = tokens.count
    return Self.floats(try run.results[0].hostTensor())
  }

  /// Appends `token` at ``position``; returns the logits for the token after it.
  public func decode(_ token: Int) throws -> [Float] {
    let run = try decodeRun(token, greedy: false, profile: false)
    position += 1
    return Self.floats(try run.results[0].hostTensor())
  }

  /// Appends `token` at ``position``; returns the most likely next token (the first on ties),
  /// chosen on the device: a step reads back 4 bytes instead of the logits.
  public func decodeGreedy(_ token: Int) throws -> Int {
    let run = try decodeRun(token, greedy: true, profile: false)
    position += 1
    return Int(try run.results[0].hostTensor().element(at: 0))
  }

  /// Runs one decode step of `token` at ``position`` (the greedy form with `greedy`), timing
  /// each kernel (nil when the device does not time kernels), and returns the bytes it moved.
  /// The session's position does not move: the cache row it wrote is written again by the next
  /// step.
  public func profileDecode(_ token: Int, greedy: Bool = false) throws -> (kernels: [KernelTiming]?, traffic: Traffic) {
    let run = try decodeRun(token, greedy: greedy, profile: true)
    return (run.kernels, run.traffic)
  }

  private func decodeRun(_ token: Int, greedy: Bool, profile: Bool) throws -> GraphRun {
    try checkStep(token)
    return try decodeGraph(greedy: greedy).execute(stepInputs(token), profile: profile)
  }

  /// Fails unless a decode step of `token` can run now.
  private func checkStep(_ token: Int) throws {
    guard position > 0 else { throw ModelError.emptyPrompt }
    guard position < context else { throw ModelError.contextFull(tokens: position + 1, context: context) }
    try checkRange([token])
  }

  /// A decode step's inputs: the token, its position, the cache.
  private func stepInputs(_ token: Int) -> [TensorValue] {
    [.host(Self.int32s([token])), .host(Self.int32s([position]))] + cacheValues
  }

  private func checkRange(_ tokens: [Int]) throws(ModelError) {
    if let bad = tokens.first(where: { !(0..<model.config.vocabularySize).contains($0) }) {
      throw .tokenOutOfRange(bad, vocabularySize: model.config.vocabularySize)
    }
  }

  static func int32s(_ values: [Int]) -> Tensor {
    Tensor(values.map(Double.init), shape: [values.count], dtype: .i32)
  }

  /// An f32 tensor's elements, read straight from its little-endian bytes into the array's own
  /// storage in one pass (a map appending them one by one took about 150 µs of CPU a decode step
  /// for SmolLM2's 49,152 logits on Zen 1).
  static func floats(_ tensor: Tensor) -> [Float] {
    let count = tensor.shape.count
    return tensor.withUnsafeBytes { raw in
      [Float](unsafeUninitializedCapacity: count) { floats, initialized in
        for index in 0..<count {
          floats[index] = Float(
            bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)))
        }
        initialized = count
      }
    }
  }
}
