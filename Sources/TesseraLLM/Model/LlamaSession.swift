import TesseraIR
import TesseraRuntime

/// Runs a model on one device: a prefill over the prompt, then one decode step per token.
///
/// The KV cache lives here between steps (`f32[context, kvWidth]` per layer), passed into the
/// decode graph without a copy; each step writes the one key and value row per layer the graph
/// returns at the step's position. The decode graph is compiled once per session; each prompt
/// length compiles its own prefill graph (cached).
public final class LlamaSession {
  /// The model.
  public let model: LlamaModel
  /// The device running the graphs.
  public let device: any Device
  /// Rows of the KV cache: the most tokens (prompt and generated) a sequence can hold.
  public let context: Int
  /// Tokens in the cache so far (the next token's position).
  public private(set) var position = 0
  /// Each layer's keys then values, `context × kvWidth` little-endian f32 each.
  private var caches: [[UInt8]] = []
  private var prefillGraphs: [Int: CompiledGraph] = [:]
  private var decodeGraph: CompiledGraph?

  /// Creates a session of `context` positions (at most the model's training context).
  public init(model: LlamaModel, device: any Device, context: Int) throws(ModelError) {
    guard context > 0, context <= model.config.contextLength else {
      throw .invalidHyperparameters("context \(context) must be in 1...\(model.config.contextLength)")
    }
    self.model = model
    self.device = device
    self.context = context
  }

  /// Compiles the decode graph now (otherwise the first ``decode(_:)`` does).
  public func prepareDecode() throws {
    if decodeGraph == nil {
      decodeGraph = try device.compile(
        LlamaGraph.decode(config: model.config, weights: model.weights, context: context))
    }
  }

  /// Compiles the prefill graph for prompts of `tokenCount` tokens now (otherwise the first
  /// ``prefill(_:)`` of that length does); returns it.
  @discardableResult
  public func preparePrefill(tokenCount: Int) throws -> CompiledGraph {
    if let cached = prefillGraphs[tokenCount] { return cached }
    let graph = try device.compile(
      LlamaGraph.prefill(config: model.config, weights: model.weights, tokenCount: tokenCount))
    prefillGraphs[tokenCount] = graph
    return graph
  }

  /// Starts a new sequence with `tokens`; returns the logits for the token after them.
  public func prefill(_ tokens: [Int]) throws -> [Float] {
    guard !tokens.isEmpty else { throw ModelError.emptyPrompt }
    guard tokens.count <= context else { throw ModelError.contextFull(tokens: tokens.count, context: context) }
    try checkRange(tokens)
    let outputs = try preparePrefill(tokenCount: tokens.count).run(
      inputs: model.weights.tensors + [Self.int32s(tokens)])
    let padding = [UInt8](repeating: 0, count: (context - tokens.count) * model.config.kvWidth * 4)
    caches = outputs.dropFirst().map { $0.bytes + padding }
    position = tokens.count
    return Self.floats(outputs[0])
  }

  /// Appends `token` at ``position``; returns the logits for the token after it.
  public func decode(_ token: Int) throws -> [Float] {
    guard position > 0 else { throw ModelError.emptyPrompt }
    guard position < context else { throw ModelError.contextFull(tokens: position + 1, context: context) }
    try checkRange([token])
    try prepareDecode()
    let outputs = try decodeGraph!.run(inputs: decodeInputs(token))
    let rowBytes = model.config.kvWidth * 4
    for (layer, row) in outputs.dropFirst().enumerated() {
      caches[layer].replaceSubrange((position * rowBytes)..<((position + 1) * rowBytes), with: row.bytes)
    }
    position += 1
    return Self.floats(outputs[0])
  }

  /// Times each kernel of one decode step of `token` without changing the session (nil when
  /// the device does not time kernels).
  public func profileDecode(_ token: Int) throws -> [KernelTiming]? {
    guard position > 0, position < context else { throw ModelError.contextFull(tokens: position + 1, context: context) }
    try checkRange([token])
    try prepareDecode()
    return try decodeGraph!.profile(inputs: decodeInputs(token))
  }

  /// The decode graph's inputs for `token` at ``position``: the caches are shared, not copied.
  private func decodeInputs(_ token: Int) -> [Tensor] {
    let cacheType = TensorType(.f32, [context, model.config.kvWidth])
    return model.weights.tensors + [Self.int32s([token]), Self.int32s([position])]
      + caches.map { Tensor(type: cacheType, bytes: $0)! }
  }

  private func checkRange(_ tokens: [Int]) throws(ModelError) {
    if let bad = tokens.first(where: { !(0..<model.config.vocabularySize).contains($0) }) {
      throw .tokenOutOfRange(bad, vocabularySize: model.config.vocabularySize)
    }
  }

  static func int32s(_ values: [Int]) -> Tensor {
    Tensor(values.map(Double.init), shape: [values.count], dtype: .i32)
  }

  /// An f32 tensor's elements, read straight from its little-endian bytes.
  static func floats(_ tensor: Tensor) -> [Float] {
    tensor.bytes.withUnsafeBytes { raw in
      (0..<tensor.shape.count).map {
        Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
      }
    }
  }
}
