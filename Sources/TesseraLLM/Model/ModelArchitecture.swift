/// The model families the builder knows, by GGUF's `general.architecture`, and what each one adds
/// to the Llama block (RMS norm → attention with RoPE → RMS norm → gated FFN, both residual).
///
/// One builder (``LlamaGraphBuilder``) reads these traits; an architecture is a row here, not a
/// copy of the graph:
///
/// | | llama | qwen2 | qwen3 | gemma3 |
/// |---|---|---|---|---|
/// | RoPE pairs | adjacent | halves (NeoX) | halves | halves |
/// | q/k/v biases | | ✓ | | |
/// | per-head q/k RMS norm | | | ✓ | ✓ |
/// | norms after attention and FFN | | | | ✓ |
/// | FFN activation | SiLU | SiLU | SiLU | GELU (tanh) |
/// | embeddings × √d | | | | ✓ |
/// | sliding-window layers | | | | 5 of every 6 |
public enum ModelArchitecture: String, CaseIterable, Sendable, Hashable {
  /// Llama 1–3, SmolLM, TinyLlama, Mistral-style files.
  case llama
  /// Qwen 2 and 2.5.
  case qwen2
  /// Qwen 3 (dense).
  case qwen3
  /// Gemma 3 (text).
  case gemma3

  /// The architecture `general.architecture` names, or ``ModelError/unsupportedArchitecture(_:)``.
  public init(ggufName name: String) throws(ModelError) {
    guard let known = Self(rawValue: name) else { throw .unsupportedArchitecture(name) }
    self = known
  }

  /// The names that are supported, for error messages.
  public static var supportedNames: String { allCases.map(\.rawValue).joined(separator: ", ") }

  /// Whether RoPE rotates the two halves of each head (`x[i]` with `x[i + D/2]`, GGUF's NeoX
  /// mode) rather than adjacent pairs (llama.cpp's converter permutes Llama's q/k rows to pairs).
  public var ropeRotatesHalves: Bool { self != .llama }

  /// Whether q, k and v projections add a bias (`attn_q.bias`, `attn_k.bias`, `attn_v.bias`).
  public var hasQKVBias: Bool { self == .qwen2 }

  /// Whether each head's queries and keys are RMS-normalised before RoPE (`attn_q_norm`,
  /// `attn_k_norm`, weights of one head's width).
  public var hasQKNorm: Bool { self == .qwen3 || self == .gemma3 }

  /// Whether the attention and FFN outputs are RMS-normalised again before the residual add
  /// (`post_attention_norm`, `post_ffw_norm`).
  public var hasPostNorms: Bool { self == .gemma3 }

  /// Whether the FFN gate uses GELU's tanh form (GeGLU) instead of SiLU (SwiGLU).
  public var gatesWithGELU: Bool { self == .gemma3 }

  /// Whether the token embeddings are multiplied by √(embedding length).
  public var scalesEmbeddings: Bool { self == .gemma3 }

  /// For interleaved local and global attention: every `n`th layer (the last of each group) is
  /// global, the others attend within the sliding window. `nil`: every layer is global.
  public var globalLayerPeriod: Int? { self == .gemma3 ? 6 : nil }

  /// The RoPE base of sliding-window layers (Gemma 3's local layers use 10000; the file's
  /// `rope.freq_base` is the global layers' base).
  public var localRopeBase: Double { 10000 }
}
