/// The reference LLM: GGUF reader, tokenizer, Llama graph, KV cache and sampler.
///
/// It arrives with its own issue; the model it runs is fetched by `scripts/fetch-model.sh`.
public enum TesseraLLM {}
