#!/usr/bin/env python3
"""Writes a BERT-style encoder as ONNX with random weights (no torch needed), as torch.onnx exports
a Hugging Face BertModel in eval mode:

- inputs int64 input_ids and attention_mask [batch, seq]; word embeddings by Gather, position
  and token-type embeddings (Gather of constant ids) added, LayerNormalization;
- per layer: query/key/value MatMul + Add, heads split by Reshape (shape from Shape -> Gather ->
  Unsqueeze -> Concat) and Transpose, scores MatMul / Div by sqrt(head size) + the mask
  ((1 - Cast(Unsqueeze(attention_mask))) * -10000), Softmax, MatMul, Transpose, Reshape, output
  MatMul + Add, residual Add, LayerNormalization; feed-forward MatMul + Add, Gelu as
  x * 0.5 * (1 + Erf(x / sqrt(2))), MatMul + Add, residual Add, LayerNormalization;
- outputs last_hidden_state [batch, seq, hidden] and the pooler's Tanh(Gemm(first token)).

With --decomposed-layer-norm the model is opset 14 and each LayerNormalization is written as
older exporters wrote it: ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add.

  onnx-bert.py OUT.onnx [--layers 4] [--hidden 256] [--heads 4] [--seq 128] [--vocab 30522]
                        [--decomposed-layer-norm] [--seed 0]

Exits 3 when onnx is missing.
"""
import argparse
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as error:
    print(f"missing Python package: {error.name}", file=sys.stderr)
    sys.exit(3)


def build(layers=4, hidden=256, heads=4, seq=128, vocab=30522, decomposed_layer_norm=False, seed=0):
    rng = np.random.default_rng(seed)
    head = hidden // heads
    opset = 14 if decomposed_layer_norm else 17
    nodes, inits = [], []
    counter = [0]

    def fresh(prefix):
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def constant(values, prefix="c"):
        name = fresh(prefix)
        inits.append(numpy_helper.from_array(np.asarray(values), name))
        return name

    def node(op, inputs, prefix=None, **attributes):
        y = fresh(prefix or op.lower())
        nodes.append(helper.make_node(op, inputs, [y], **attributes))
        return y

    def linear(x, cin, cout):
        w = constant((rng.standard_normal((cin, cout)) * 0.02 * np.sqrt(768 / cin)).astype(np.float32), "w")
        b = constant((rng.standard_normal(cout) * 0.02).astype(np.float32), "b")
        return node("Add", [node("MatMul", [x, w]), b])

    def layer_norm(x):
        gamma = constant((1 + 0.1 * rng.standard_normal(hidden)).astype(np.float32), "gamma")
        beta = constant((0.1 * rng.standard_normal(hidden)).astype(np.float32), "beta")
        if not decomposed_layer_norm:
            return node("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=1e-12)
        mean = node("ReduceMean", [x], axes=[-1], keepdims=1)
        centred = node("Sub", [x, mean])
        variance = node("ReduceMean", [node("Pow", [centred, constant(np.float32(2))])], axes=[-1], keepdims=1)
        deviation = node("Sqrt", [node("Add", [variance, constant(np.float32(1e-12))])])
        return node("Add", [node("Mul", [node("Div", [centred, deviation]), gamma]), beta])

    def dim(x, axis):
        """Unsqueeze(Gather(Shape(x), axis)): the exporter's dynamic size of one axis, as a [1] tensor."""
        size = node("Gather", [node("Shape", [x]), constant(np.int64(axis))], axis=0)
        return node("Unsqueeze", [size, constant(np.array([0], np.int64))])

    def split_heads(x, perm):
        shape = node("Concat", [dim(x, 0), dim(x, 1), constant(np.array([heads, head], np.int64))], axis=0)
        return node("Transpose", [node("Reshape", [x, shape])], perm=perm)

    def gelu(x):
        erf = node("Erf", [node("Div", [x, constant(np.float32(np.sqrt(2)))])])
        return node("Mul", [node("Mul", [x, node("Add", [erf, constant(np.float32(1))])]), constant(np.float32(0.5))])

    def encoder_layer(x, mask):
        q = split_heads(linear(x, hidden, hidden), [0, 2, 1, 3])
        k = split_heads(linear(x, hidden, hidden), [0, 2, 3, 1])
        v = split_heads(linear(x, hidden, hidden), [0, 2, 1, 3])
        scores = node("Div", [node("MatMul", [q, k]), constant(np.float32(np.sqrt(head)))])
        probs = node("Softmax", [node("Add", [scores, mask])], axis=-1)
        context = node("Transpose", [node("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        merged_shape = node("Concat", [dim(context, 0), dim(context, 1), constant(np.array([hidden], np.int64))], axis=0)
        attended = linear(node("Reshape", [context, merged_shape]), hidden, hidden)
        x = layer_norm(node("Add", [attended, x]))
        ffn = linear(gelu(linear(x, hidden, 4 * hidden)), 4 * hidden, hidden)
        return layer_norm(node("Add", [ffn, x]))

    word = constant((rng.standard_normal((vocab, hidden)) * 0.02).astype(np.float32), "word_embeddings")
    position_table = constant((rng.standard_normal((512, hidden)) * 0.02).astype(np.float32), "position_embeddings")
    token_type_table = constant((rng.standard_normal((2, hidden)) * 0.02).astype(np.float32), "token_type_embeddings")
    positions = node("Gather", [position_table, constant(np.arange(seq, dtype=np.int64)[None, :], "position_ids")])
    token_types = node("Gather", [token_type_table, constant(np.zeros((1, seq), np.int64), "token_type_ids")])
    embedded = node("Add", [node("Add", [node("Gather", [word, "input_ids"]), token_types]), positions])
    x = layer_norm(embedded)

    mask = node("Unsqueeze", ["attention_mask", constant(np.array([1, 2], np.int64))])
    inverted = node("Sub", [constant(np.float32(1)), node("Cast", [mask], to=TensorProto.FLOAT)])
    additive_mask = node("Mul", [inverted, constant(np.float32(-10000))])
    for _ in range(layers):
        x = encoder_layer(x, additive_mask)
    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))

    first = node("Gather", ["last_hidden_state", constant(np.int64(0))], axis=1)
    pooler_w = constant((rng.standard_normal((hidden, hidden)) * 0.05).astype(np.float32), "pooler_w")
    pooler_b = constant(np.zeros(hidden, np.float32), "pooler_b")
    nodes.append(helper.make_node("Tanh", [node("Gemm", [first, pooler_w, pooler_b], transB=1)], ["pooler_output"]))

    graph = helper.make_graph(
        nodes, "bert",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", seq]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", seq])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", seq, hidden]),
         helper.make_tensor_value_info("pooler_output", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--vocab", type=int, default=30522)
    parser.add_argument("--decomposed-layer-norm", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    o = parser.parse_args()
    onnx.save(build(o.layers, o.hidden, o.heads, o.seq, o.vocab, o.decomposed_layer_norm, o.seed), o.out)
    print(f"wrote {o.out}")
