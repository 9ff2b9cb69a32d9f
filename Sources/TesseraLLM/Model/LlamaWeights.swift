import TesseraIR

/// The weights of a Llama model as graph arguments: GGUF names, IR types, and the tensors, in
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

  /// Reads every weight `config` needs from `file`, checking each one's shape.
  public init(gguf file: GGUFFile, config: LlamaConfig) throws {
    let tied = !file.hasTensor("output.weight")
    var names: [String] = []
    var tensors: [Tensor] = []
    for (name, shape) in Self.expectedShapes(config, tiedEmbeddings: tied) {
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

  /// The weights' names and IR shapes (GGUF dims reversed), in argument order.
  static func expectedShapes(_ c: LlamaConfig, tiedEmbeddings: Bool) -> [(String, [Int])] {
    var shapes: [(String, [Int])] = [("token_embd.weight", [c.vocabularySize, c.embeddingLength])]
    for layer in 0..<c.blockCount {
      let block = "blk.\(layer)."
      shapes += [
        (block + "attn_norm.weight", [c.embeddingLength]),
        (block + "attn_q.weight", [c.embeddingLength, c.embeddingLength]),
        (block + "attn_k.weight", [c.kvWidth, c.embeddingLength]),
        (block + "attn_v.weight", [c.kvWidth, c.embeddingLength]),
        (block + "attn_output.weight", [c.embeddingLength, c.embeddingLength]),
        (block + "ffn_norm.weight", [c.embeddingLength]),
        (block + "ffn_gate.weight", [c.feedForwardLength, c.embeddingLength]),
        (block + "ffn_up.weight", [c.feedForwardLength, c.embeddingLength]),
        (block + "ffn_down.weight", [c.embeddingLength, c.feedForwardLength]),
      ]
    }
    shapes.append(("output_norm.weight", [c.embeddingLength]))
    if !tiedEmbeddings { shapes.append(("output.weight", [c.vocabularySize, c.embeddingLength])) }
    return shapes
  }
}
