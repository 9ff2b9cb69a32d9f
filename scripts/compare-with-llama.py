#!/usr/bin/env python3
"""Greedy tokens of Tessera against llama.cpp's on the same GGUF, with llama.cpp's logit margins.

Usage: compare-with-llama.py MODEL.gguf [--device D] [--steps N] [--prompt TEXT ...]
                              [--peer-model PEER.gguf] [--peer-kv f32|f16]

For each prompt: whether Tessera's prompt tokens equal llama.cpp's (llama-tokenize), Tessera's
greedy tokens (`tessera generate --format json`), llama.cpp's from the same prompt token ids
(scripts/llama-greedy-margins.c, built here against the llama.cpp that shared/peers builds), the
first step where they differ, and llama.cpp's own top-1 minus top-2 logit at that step (Tessera
stops at the end-of-sequence token, llama.cpp here does not: then the comparison ends there).
llama.cpp rounds activations to 8 bits before its quantized matmuls, which moves its logits by up
to about a logit from exact arithmetic (measure it on Tessera with
`TESSERA_CPU_PRECISION=int8-activations tessera parity --devices cpu`): a divergence where
llama.cpp's margin is below that is a near-tie, not an error. A file dequantised to F32
(`llama-quantize --allow-requantize IN OUT F32`) computes the same function without that rounding;
scripts/llm-oracle.py then gives the float64 answer to settle a divergence.

Environment: TESSERA (default .build/release/tessera), LLAMA_SRC (llama.cpp source with include/
and ggml/include/; default the peers' copy), LLAMA_LIB (libllama's folder; default
/tmp/build-cpu/bin).
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_PROMPTS = [
    "The capital of France is",
    "Once upon a time, in a small village,",
    "def fibonacci(n):",
]


def build_peer_tool(source, library):
    binary = "/tmp/tessera-llama-greedy-margins"
    tool = os.path.join(HERE, "llama-greedy-margins.c")
    if os.path.exists(binary) and os.path.getmtime(binary) > os.path.getmtime(tool):
        return binary
    command = ["gcc", "-O2", tool, "-I", source + "/include", "-I", source + "/ggml/include",
               "-L", library, "-lllama", "-Wl,-rpath," + library, "-o", binary]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("building llama-greedy-margins failed (is llama.cpp built? see shared/peers):\n"
                 + result.stderr)
    return binary


def tessera_greedy(tessera, model, device, prompt, steps):
    command = [tessera, "generate", "--model", model, "--device", device, "--prompt", prompt,
               "--max-tokens", str(steps), "--greedy", "--format", "json"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("tessera generate failed:\n" + result.stderr)
    report = json.loads(result.stdout)
    return report["prompt_tokens"], report["generated_tokens"]


def llama_greedy(tool, model, prompt_tokens, steps, threads, kv_type):
    command = [tool, model, ",".join(map(str, prompt_tokens)), str(steps), str(threads), kv_type]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("llama-greedy-margins failed:\n" + result.stderr)
    return json.loads(result.stdout)["tokens"]


def llama_tokens(library, model, prompt):
    """llama.cpp's tokens for the prompt (its llama-tokenize, beside libllama), or None without it."""
    tool = os.path.join(library, "llama-tokenize")
    if not os.path.exists(tool):
        return None
    command = [tool, "-m", model, "-p", prompt, "--ids", "--log-disable"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("llama-tokenize failed:\n" + result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def first_difference(a, b):
    for step, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return step
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--prompt", action="append")
    parser.add_argument("--peer-model",
                        help="the GGUF llama.cpp runs (default: MODEL), e.g. MODEL dequantised to "
                             "F32, so that llama.cpp decodes the blocks and multiplies in f32")
    parser.add_argument("--peer-kv", choices=["f32", "f16"], default="f32",
                        help="llama.cpp's KV cache type (default f32, as Tessera's; f16 is "
                             "llama.cpp's own default)")
    arguments = parser.parse_args()
    tessera = os.environ.get("TESSERA", os.path.join(ROOT, ".build/release/tessera"))
    source = os.environ.get("LLAMA_SRC", "/tmp/lcp/llama_cpp_python-0.3.36/vendor/llama.cpp")
    library = os.environ.get("LLAMA_LIB", "/tmp/build-cpu/bin")
    tool = build_peer_tool(source, library)
    for prompt in arguments.prompt or DEFAULT_PROMPTS:
        prompt_tokens, ours = tessera_greedy(tessera, arguments.model, arguments.device, prompt,
                                             arguments.steps)
        peer_model = arguments.peer_model or arguments.model
        peer = llama_greedy(tool, peer_model, prompt_tokens, arguments.steps, 1,
                            arguments.peer_kv)
        theirs = [token for token, _, _ in peer]
        step = first_difference(ours, theirs)
        line = {"prompt": prompt, "device": arguments.device, "steps": arguments.steps,
                "equal_steps": len(ours) if step is None else step}
        peer_prompt_tokens = llama_tokens(library, peer_model, prompt)
        if peer_prompt_tokens is not None:
            line["prompt_tokens_equal"] = peer_prompt_tokens == prompt_tokens
        if step is None and len(ours) < len(theirs):
            line["tessera_stopped_at_end_of_sequence"] = True
        if step is not None:
            line["llama_margin_at_divergence"] = round(peer[step][2], 6)
            line["smallest_llama_margin_before"] = round(min((m for _, _, m in peer[:step]),
                                                             default=float("nan")), 6)
        print(json.dumps(line))


if __name__ == "__main__":
    main()
