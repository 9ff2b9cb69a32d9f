#!/usr/bin/env python3
"""Derive qwen2, qwen3 and Llama-3-rope variants of a llama-architecture GGUF, for checking
Tessera's per-architecture pieces against llama.cpp on a full-size file.

Usage: derive-architecture.py SOURCE.gguf ARCH OUT.gguf [--seed N]
  ARCH: qwen2      q/k/v biases (random, seeded), rope over rotated halves, `qwen2` pre-tokenizer
        qwen3      per-head q/k RMS norm weights (random, seeded), rope over rotated halves
        llama3     `rope_freqs.weight` (Llama 3's frequency factors for a short original context,
                   so that they matter over a short prompt), `llama-bpe` pre-tokenizer

No qwen2/qwen3 GGUF is reachable from the machines this project runs on (PyPI only), so these
files are made from SmolLM2: every quantized tensor is copied byte for byte, and the pieces an
architecture adds are written in F32. llama.cpp's converter permutes the rows of Llama's q and k
weights for its adjacent-pair rope; qwen2 and qwen3 rotate halves, so for them the rows are put
back in the Hugging Face order (a row permutation, done on the quantized rows' bytes), and the
derived model computes SmolLM2's function plus what the architecture adds. The outputs are
compared, not judged: scripts/compare-with-llama.py runs Tessera and llama.cpp on the file.

Needs the `gguf` package (gguf-py, `pip install gguf`).
"""
import argparse
import sys

import numpy as np

try:
    from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
except ImportError:
    sys.exit("derive-architecture.py needs gguf-py: pip install gguf")

ARCHITECTURES = ("qwen2", "qwen3", "llama3")


def copied_fields(reader, arch):
    """The source's key/value pairs as (key, value, type, element type), `llama.` keys renamed."""
    fields = []
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        if key.startswith("llama."):
            key = arch + key[len("llama"):]
        types = field.types
        sub_type = types[1] if types[0] == GGUFValueType.ARRAY else None
        fields.append((key, field.contents(), types[0], sub_type))
    return fields


def rows_in_hf_order(rows, heads):
    """Undo llama.cpp's permutation of q/k rows: within a head, GGUF row 2j+s is HF row s*(d/2)+j."""
    per_head = rows.shape[0] // heads
    return rows.reshape(heads, per_head // 2, 2, -1).swapaxes(1, 2).reshape(rows.shape)


def llama3_frequency_factors(pairs, base, factor=8.0, low=1.0, high=4.0, original_context=32):
    """Llama 3.1's rope scaling factors (one per rotated pair) for an original context length."""
    factors = np.ones(pairs, dtype=np.float32)
    low_wavelength, high_wavelength = original_context / low, original_context / high
    for i in range(pairs):
        wavelength = 2 * np.pi * base ** (2 * i / (2 * pairs))
        if wavelength > low_wavelength:
            factors[i] = factor
        elif wavelength > high_wavelength:
            smooth = (original_context / wavelength - low) / (high - low)
            factors[i] = 1 / ((1 - smooth) / factor + smooth)
    return factors


def derive(source, arch, out, seed):
    reader = GGUFReader(source)
    architecture = reader.fields["general.architecture"].contents()
    if architecture != "llama":
        sys.exit(f"{source}: general.architecture is '{architecture}', expected llama")
    written_arch = "llama" if arch == "llama3" else arch
    writer = GGUFWriter(out, written_arch)
    fields = copied_fields(reader, written_arch)
    values = {key: value for key, value, _, _ in fields}
    heads = values[written_arch + ".attention.head_count"]
    kv_heads = values[written_arch + ".attention.head_count_kv"]
    width = values[written_arch + ".embedding_length"]
    head_dim = width // heads
    pre = {"qwen2": "qwen2", "llama3": "llama-bpe"}.get(arch)
    for key, value, vtype, sub_type in fields:
        if key == "tokenizer.ggml.pre" and pre:
            value = pre
        if key == "general.name":
            value = f"{value} (derived: {arch})"
        writer.add_key_value(key, value, vtype, sub_type)

    random = np.random.default_rng(seed)
    for tensor in reader.tensors:
        data = np.array(tensor.data)
        name = tensor.name
        if arch in ("qwen2", "qwen3") and name.endswith(("attn_q.weight", "attn_k.weight")):
            data = rows_in_hf_order(data, heads if name.endswith("attn_q.weight") else kv_heads)
        raw_dtype = GGMLQuantizationType(tensor.tensor_type)
        if raw_dtype in (GGMLQuantizationType.F32, GGMLQuantizationType.F16):
            writer.add_tensor(name, data)
        else:
            writer.add_tensor(name, data, raw_shape=data.shape, raw_dtype=raw_dtype)
        if not name.endswith("attn_norm.weight"):
            continue
        layer = name[: -len("attn_norm.weight")]
        if arch == "qwen2":
            for part, rows in (("q", width), ("k", kv_heads * head_dim), ("v", kv_heads * head_dim)):
                bias = random.normal(0.0, 0.5, rows).astype(np.float32)
                writer.add_tensor(f"{layer}attn_{part}.bias", bias)
        elif arch == "qwen3":
            for part in ("q", "k"):
                weight = random.uniform(0.5, 1.5, head_dim).astype(np.float32)
                writer.add_tensor(f"{layer}attn_{part}_norm.weight", weight)
    if arch == "llama3":
        base = values["llama.rope.freq_base"]
        writer.add_tensor("rope_freqs.weight", llama3_frequency_factors(head_dim // 2, base))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a llama-architecture GGUF (SmolLM2)")
    parser.add_argument("arch", choices=ARCHITECTURES)
    parser.add_argument("out", help="where to write the derived GGUF")
    parser.add_argument("--seed", type=int, default=0, help="seed of the added weights (default 0)")
    args = parser.parse_args()
    derive(args.source, args.arch, args.out, args.seed)


if __name__ == "__main__":
    main()
