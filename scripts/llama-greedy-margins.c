// Greedy decoding with llama.cpp from given prompt token ids, printing each step's token and the
// gap between its two largest logits: the peer side of scripts/compare-with-llama.py.
//
// Usage: llama-greedy-margins MODEL.gguf TOKENS STEPS THREADS [KV_TYPE]
//   TOKENS: comma-separated prompt token ids; KV_TYPE: f16 (llama.cpp's default KV cache) or f32
//   (default here: Tessera keeps its KV cache in f32). Prints one JSON object, {"tokens": [[token,
//   logit, margin], ...]}: per step the chosen token, its logit, and its logit minus the runner-up's.
//
// Built by compare-with-llama.py against the llama.cpp that shared/peers builds (its headers and
// libllama); written for Tessera from llama.h's public API.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

static void quiet(enum ggml_log_level level, const char *text, void *user_data) {
  (void)level;
  (void)text;
  (void)user_data;
}

static int parse_tokens(const char *text, llama_token *tokens, int capacity) {
  int count = 0;
  const char *cursor = text;
  while (*cursor) {
    char *end = NULL;
    long value = strtol(cursor, &end, 10);
    if (end == cursor || value < 0 || count == capacity) return -1;
    tokens[count++] = (llama_token)value;
    cursor = *end == ',' ? end + 1 : end;
    if (*end != ',' && *end != '\0') return -1;
  }
  return count;
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: %s MODEL.gguf TOKENS STEPS THREADS [f16|f32]\n", argv[0]);
    return 2;
  }
  const char *kv_type = argc == 6 ? argv[5] : "f32";
  if (strcmp(kv_type, "f16") != 0 && strcmp(kv_type, "f32") != 0) {
    fprintf(stderr, "KV_TYPE must be f16 or f32, not '%s'\n", kv_type);
    return 2;
  }
  enum { capacity = 4096 };
  static llama_token prompt[capacity];
  int prompt_count = parse_tokens(argv[2], prompt, capacity);
  int steps = atoi(argv[3]), threads = atoi(argv[4]);
  if (prompt_count <= 0 || steps <= 0 || threads <= 0) {
    fprintf(stderr, "bad TOKENS, STEPS or THREADS\n");
    return 2;
  }
  llama_log_set(quiet, NULL);
  llama_backend_init();
  struct llama_model *model = llama_model_load_from_file(argv[1], llama_model_default_params());
  if (!model) {
    fprintf(stderr, "cannot load %s\n", argv[1]);
    return 1;
  }
  struct llama_context_params parameters = llama_context_default_params();
  parameters.n_ctx = (uint32_t)(prompt_count + steps + 8);
  parameters.n_batch = parameters.n_ctx;
  parameters.n_threads = threads;
  parameters.n_threads_batch = threads;
  if (strcmp(kv_type, "f32") == 0) {
    parameters.type_k = GGML_TYPE_F32;
    parameters.type_v = GGML_TYPE_F32;
    parameters.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  }
  struct llama_context *context = llama_init_from_model(model, parameters);
  int vocabulary = llama_vocab_n_tokens(llama_model_get_vocab(model));
  struct llama_batch batch = llama_batch_get_one(prompt, prompt_count);
  llama_token next = 0;
  printf("{\"tokens\": [");
  for (int step = 0; step < steps; step++) {
    if (llama_decode(context, batch) != 0) {
      fprintf(stderr, "llama_decode failed at step %d\n", step);
      return 1;
    }
    const float *logits = llama_get_logits_ith(context, -1);
    int best = 0, second = 1;
    if (logits[second] > logits[best]) best = 1, second = 0;
    for (int token = 2; token < vocabulary; token++) {
      if (logits[token] > logits[best]) {
        second = best;
        best = token;
      } else if (logits[token] > logits[second]) {
        second = token;
      }
    }
    printf("%s[%d, %.6f, %.6f]", step ? ", " : "", best, logits[best], logits[best] - logits[second]);
    next = best;
    batch = llama_batch_get_one(&next, 1);
  }
  printf("]}\n");
  llama_free(context);
  llama_model_free(model);
  return 0;
}
