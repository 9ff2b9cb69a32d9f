import TesseraIR

/// The weights of a Llama-family model as graph arguments: GGUF names, IR types, and the tensors, in
/// one fixed order that every graph of the model takes first.
///
/// Quantized weights stay quantized (the graph dequantizes them where they are used): the
/// tensors a device receives are as small as the file (≈98 MB for SmolLM2-135M Q4_1 instead of
/// ≈540 MB of f32), and dequantization is exact, identical arithmetic on every target.
public struct LlamaWeights: Sendable {
  /// Weight names in argument order.
  public let names: [String]
  /// The tensors, in the same order.
  public let tensors: [Tensor]
  /// Whether the output projection reuses `token_embd.weight` (no `output.weight` in the file).
  public let tiedEmbeddings: Bool

  /// The IR types, in argument order.
  public var types: [TensorType] { tensors.map(\.type) }

  /// Reads every weight `config` needs from `file`, checking each one's shape. A weight the
  /// architecture needs and the file lacks, or a tensor the file has and the architecture does
  /// not use, is an unsupported layout: ``ModelError/unsupportedTensorLayout(architecture:detail:)``.
  public init(gguf file: GGUFFile, config: LlamaConfig) throws {
    let tied = !file.hasTensor("output.weight")
    let expected = Self.expectedShapes(config, tiedEmbeddings: tied)
    try Self.checkLayout(file, expected: expected.map(\.0), architecture: config.architecture)
    var names: [String] = []
    var tensors: [Tensor] = []
    for (name, shape) in expected {
      let tensor = try file.tensor(named: name)
      guard tensor.shape.dims == shape, tensor.dtype.isQuantized || tensor.dtype.isFloatingPoint else {
        throw GGUFError.unexpectedTensor(
          name: name, expected: "shape \(shape) (IR order)", found: "\(tensor.type)")
      }
      names.append(name)
      tensors.append(tensor)
    }
    self.names = names
    self.tensors = tensors
    tiedEmbeddings = tied
  }

  /// Throws unless the file's tensors are exactly `expected` (plus `rope_freqs.weight`, which
  /// the configuration reads).
  private static func checkLayout(_ file: GGUFFile, expected: [String], architecture: ModelArchitecture) throws {
    if let missing = expected.first(where: { !file.hasTensor($0) }) {
      throw ModelError.unsupportedTensorLayout(
        architecture: architecture.rawValue, detail: "it needs the tensor '\(missing)', which the file lacks")
    }
    let known = Set(expected + ["rope_freqs.weight"])
    let extra = file.tensors.map(\.name).filter { !known.contains($0) }
    if !extra.isEmpty {
      let shown = extra.prefix(3).map { "'\($0)'" }.joined(separator: ", ")
      throw ModelError.unsupportedTensorLayout(
        architecture: architecture.rawValue,
        detail: "the file has \(extra.count) tensor(s) it does not use: \(shown)\(extra.count > 3 ? ", …" : "")")
    }
  }

  /// The weights' names and IR shapes (GGUF dims reversed), in argument order: the Llama block's,
  /// then what ``LlamaConfig/architecture`` adds (biases, q/k norms, post norms) after each layer's.
  static func expectedShapes(_ c: LlamaConfig, tiedEmbeddings: Bool) -> [(String, [Int])] {
    let (e, q, kv, d) = (c.embeddingLength, c.queryWidth, c.kvWidth, c.headDimension)
    var shapes: [(String, [Int])] = [("token_embd.weight", [c.vocabularySize, e])]
    for layer in 0..<c.blockCount {
      let block = "blk.\(layer)."
      shapes += [
        (block + "attn_norm.weight", [e]), (block + "attn_q.weight", [q, e]), (block + "attn_k.weight", [kv, e]),
        (block + "attn_v.weight", [kv, e]), (block + "attn_output.weight", [e, q]), (block + "ffn_norm.weight", [e]),
        (block + "ffn_gate.weight", [c.feedForwardLength, e]), (block + "ffn_up.weight", [c.feedForwardLength, e]),
        (block + "ffn_down.weight", [e, c.feedForwardLength]),
      ]
      if c.architecture.hasQKVBias {
        shapes += [(block + "attn_q.bias", [q]), (block + "attn_k.bias", [kv]), (block + "attn_v.bias", [kv])]
      }
      if c.architecture.hasQKNorm {
        shapes += [(block + "attn_q_norm.weight", [d]), (block + "attn_k_norm.weight", [d])]
      }
      if c.architecture.hasPostNorms {
        shapes += [(block + "post_attention_norm.weight", [e]), (block + "post_ffw_norm.weight", [e])]
      }
    }
    shapes.append(("output_norm.weight", [e]))
    if !tiedEmbeddings { shapes.append(("output.weight", [c.vocabularySize, e])) }
    return shapes
  }
}
