#!/usr/bin/env python3
"""An independent forward pass of a small GGUF model with F32 weights, in numpy (float64).

Usage: llm-oracle.py MODEL.gguf TOKENS STEPS
  TOKENS: comma-separated prompt token ids; STEPS: greedy tokens to generate.
Prints one JSON object: {"logits": [...] (after the prompt), "tokens": [...] (greedy, each from a
full recompute of the sequence), "margins": [...] (top-1 minus top-2 logit at each step)}.

Written for Tessera's tests from the architectures' descriptions (Hugging Face transformers'
modeling files and llama.cpp's GGUF conventions), sharing nothing with Tessera's code: its own
GGUF parser, its own graph. Architectures: llama (adjacent RoPE pairs, optional rope_freqs),
qwen2 (q/k/v biases), qwen3 (per-head q/k RMS norm), gemma3 (embeddings x sqrt(d), q/k norm,
norms after attention and FFN, GELU-tanh gate, sliding-window layers except every 6th, local
RoPE base 10000, optional soft caps). GGUF norm weights are used as stored (Gemma's converter
already stores 1 + w).
"""
import json
import struct
import sys

import numpy as np


def read_gguf(path):
    data = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values[0]

    def text():
        nonlocal pos
        n = take("Q")
        value = data[pos:pos + n].decode("utf-8")
        pos += n
        return value

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(kind):
        if kind == 8:
            return text()
        if kind == 9:
            element, count = take("I"), take("Q")
            return [value(element) for _ in range(count)]
        return take(scalar[kind])

    assert data[:4] == b"GGUF"
    pos = 4
    take("I")
    tensor_count, key_count = take("Q"), take("Q")
    meta = {}
    for _ in range(key_count):
        key = text()
        meta[key] = value(take("I"))
    infos = []
    for _ in range(tensor_count):
        name = text()
        dims = [take("Q") for _ in range(take("I"))]
        kind, offset = take("I"), take("Q")
        infos.append((name, dims, kind, offset))
    alignment = meta.get("general.alignment", 32)
    start = (pos + alignment - 1) // alignment * alignment
    tensors = {}
    for name, dims, kind, offset in infos:
        assert kind == 0, f"{name}: only F32 tensors are read here"
        count = int(np.prod(dims))
        array = np.frombuffer(data, dtype="<f4", count=count, offset=start + offset).astype(np.float64)
        tensors[name] = array.reshape(list(reversed(dims)))
    return meta, tensors


def rms_norm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def rope(x, positions, base, factors, halves):
    """x: [T, heads, D]; pair i turns by position * base^(-2i/D) / factors[i]."""
    d = x.shape[-1]
    i = np.arange(d // 2)
    angles = positions[:, None] * (base ** (-2.0 * i / d) / factors)[None, :]
    cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
    if halves:
        a, b = x[..., : d // 2], x[..., d // 2:]
    else:
        a, b = x[..., 0::2], x[..., 1::2]
    ra, rb = a * cos - b * sin, a * sin + b * cos
    if halves:
        return np.concatenate([ra, rb], axis=-1)
    out = np.empty_like(x)
    out[..., 0::2], out[..., 1::2] = ra, rb
    return out


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def forward(meta, w, tokens):
    arch = meta["general.architecture"]
    key = lambda name, default=None: meta.get(f"{arch}.{name}", default)
    n_embd, n_head = key("embedding_length"), key("attention.head_count")
    n_kv = key("attention.head_count_kv", n_head)
    d = key("attention.key_length", n_embd // n_head)
    eps = key("attention.layer_norm_rms_epsilon")
    base = key("rope.freq_base", 10000.0)
    window = key("attention.sliding_window")
    attn_cap, final_cap = key("attn_logit_softcapping"), key("final_logit_softcapping")
    factors = w.get("rope_freqs.weight", np.ones(d // 2))
    t = len(tokens)
    positions = np.arange(t, dtype=np.float64)
    x = w["token_embd.weight"][tokens]
    if arch == "gemma3":
        x = x * np.sqrt(n_embd)
    for layer in range(key("block_count")):
        p = f"blk.{layer}."
        local = arch == "gemma3" and (layer + 1) % 6 != 0
        h = rms_norm(x, w[p + "attn_norm.weight"], eps)
        q, k, v = (h @ w[p + f"attn_{n}.weight"].T for n in "qkv")
        if arch == "qwen2":
            q, k, v = q + w[p + "attn_q.bias"], k + w[p + "attn_k.bias"], v + w[p + "attn_v.bias"]
        q, k, v = q.reshape(t, n_head, d), k.reshape(t, n_kv, d), v.reshape(t, n_kv, d)
        if arch in ("qwen3", "gemma3"):
            q = rms_norm(q, w[p + "attn_q_norm.weight"], eps)
            k = rms_norm(k, w[p + "attn_k_norm.weight"], eps)
        layer_base = 10000.0 if local else base
        layer_factors = np.ones(d // 2) if local else factors
        q = rope(q, positions, layer_base, layer_factors, arch != "llama")
        k = rope(k, positions, layer_base, layer_factors, arch != "llama")
        group = n_head // n_kv
        out = np.zeros((t, n_head, d))
        for head in range(n_head):
            scores = q[:, head, :] @ k[:, head // group, :].T / np.sqrt(d)
            if attn_cap:
                scores = attn_cap * np.tanh(scores / attn_cap)
            rows, cols = np.indices((t, t))
            visible = cols <= rows
            if local:
                visible &= rows - cols < window
            scores = np.where(visible, scores, -np.inf)
            probs = np.exp(scores - scores.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            out[:, head, :] = probs @ v[:, head // group, :]
        attended = out.reshape(t, n_head * d) @ w[p + "attn_output.weight"].T
        if arch == "gemma3":
            attended = rms_norm(attended, w[p + "post_attention_norm.weight"], eps)
        x = x + attended
        f = rms_norm(x, w[p + "ffn_norm.weight"], eps)
        gate = f @ w[p + "ffn_gate.weight"].T
        gate = gelu_tanh(gate) if arch == "gemma3" else gate / (1 + np.exp(-gate))
        ffn = (gate * (f @ w[p + "ffn_up.weight"].T)) @ w[p + "ffn_down.weight"].T
        if arch == "gemma3":
            ffn = rms_norm(ffn, w[p + "post_ffw_norm.weight"], eps)
        x = x + ffn
    last = rms_norm(x[-1], w["output_norm.weight"], eps)
    logits = last @ w.get("output.weight", w["token_embd.weight"]).T
    if final_cap:
        logits = final_cap * np.tanh(logits / final_cap)
    return logits


def main():
    meta, weights = read_gguf(sys.argv[1])
    sequence = [int(s) for s in sys.argv[2].split(",")]
    steps = int(sys.argv[3])
    first = forward(meta, weights, sequence)
    logits, generated, margins = first, [], []
    for _ in range(steps):
        ranked = np.argsort(-logits, kind="stable")
        generated.append(int(ranked[0]))
        margins.append(float(logits[ranked[0]] - logits[ranked[1]]))
        sequence.append(int(ranked[0]))
        logits = forward(meta, weights, sequence)
    print(json.dumps({"logits": first.tolist(), "tokens": generated, "margins": margins}))


if __name__ == "__main__":
    main()
