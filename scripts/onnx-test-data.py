#!/usr/bin/env python3
"""Test data for Tessera's ONNX importer, made with the `onnx` and `onnxruntime` packages.

  onnx-test-data.py node OUT_DIR OP...   ONNX's own backend node tests (onnx.backend.test.case.node)
                                         whose models use only the given ops: OUT_DIR/<test>/model.onnx
                                         and test_data_set_N/{input,output}_K.pb, as ONNX ships them.
  onnx-test-data.py models OUT_DIR       Models built with onnx.helper (an MLP, a transformer block, a small CNN, and
                                         small versions of the MobileNetV3 and BERT benchmark models from
                                         onnx-mobilenetv3.py and onnx-bert.py) with seeded inputs and onnxruntime's
                                         outputs (CPU provider): OUT_DIR/<model>/model.onnx, input_K.npy, output_K.npy.

Exits 3 when onnx or onnxruntime is missing, so callers can say why they skip.
"""
import os
import sys
import warnings

warnings.filterwarnings("ignore")  # the node-test generators overflow casts on purpose

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as error:  # the caller prints this and skips
    print(f"missing Python package: {error.name}", file=sys.stderr)
    sys.exit(3)


def node_tests(out_dir, ops):
    from onnx.backend.test.case import node

    claimed = set(ops)
    written = 0
    for case in node.collect_testcases(None):
        model = case.model
        if model is None or not case.data_sets:
            continue
        if any(n.op_type not in claimed or n.domain not in ("", "ai.onnx") for n in model.graph.node):
            continue
        if not all(i.type.HasField("tensor_type") for i in list(model.graph.input) + list(model.graph.output)):
            continue
        folder = os.path.join(out_dir, case.name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "model.onnx"), "wb") as f:
            f.write(model.SerializeToString())
        for index, (inputs, outputs) in enumerate(case.data_sets):
            data = os.path.join(folder, f"test_data_set_{index}")
            os.makedirs(data, exist_ok=True)
            for kind, values in (("input", inputs), ("output", outputs)):
                for k, value in enumerate(values):
                    proto = value if isinstance(value, TensorProto) else numpy_helper.from_array(np.asarray(value))
                    with open(os.path.join(data, f"{kind}_{k}.pb"), "wb") as f:
                        f.write(proto.SerializeToString())
        written += 1
    print(f"wrote {written} node tests to {out_dir}")


def mlp():
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((16, 32)).astype(np.float32) * 0.3
    b1 = rng.standard_normal(32).astype(np.float32) * 0.1
    w2 = rng.standard_normal((10, 32)).astype(np.float32) * 0.3
    b2 = rng.standard_normal(10).astype(np.float32) * 0.1
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"]),
        helper.make_node("Add", ["h", "b1"], ["hb"]),
        helper.make_node("Relu", ["hb"], ["r"]),
        helper.make_node("Gemm", ["r", "w2", "b2"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 10])],
        [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), [
        rng.standard_normal((4, 16)).astype(np.float32)
    ]


def transformer_block():
    """Pre-norm self-attention (2 heads) and a GELU MLP, written the way exporters write it:
    shapes from Shape/Gather/Concat, Reshape, Transpose, Split, MatMul, Softmax, Where mask."""
    rng = np.random.default_rng(1)
    seq, dim, heads = 5, 8, 2
    head = dim // heads

    def weight(*shape):
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.3).astype(np.float32))

    inits = {}
    for name, shape in (("wqkv", (dim, 3 * dim)), ("wo", (dim, dim)), ("w1", (dim, 4 * dim)), ("w2", (4 * dim, dim))):
        inits[name] = weight(*shape)
    inits["ln1_g"] = numpy_helper.from_array((1 + 0.1 * rng.standard_normal(dim)).astype(np.float32))
    inits["ln1_b"] = numpy_helper.from_array((0.1 * rng.standard_normal(dim)).astype(np.float32))
    inits["ln2_g"] = numpy_helper.from_array(np.ones(dim, np.float32))
    consts = {
        "heads_shape": np.array([0, 0, heads, head], np.int64),
        "zero": np.array(0, np.int64), "one": np.array(1, np.int64),
        "merge_tail": np.array([dim], np.int64), "axes0": np.array([0], np.int64),
        "scale": np.array(1 / np.sqrt(head), np.float32), "neg": np.array(-1e9, np.float32),
        "split": np.array([dim, dim, dim], np.int64),
    }
    for name, value in consts.items():
        inits[name] = numpy_helper.from_array(value)
    for name, proto in inits.items():
        proto.name = name
    n = helper.make_node
    nodes = [
        n("LayerNormalization", ["x", "ln1_g", "ln1_b"], ["ln1"], axis=-1, epsilon=1e-5),
        n("MatMul", ["ln1", "wqkv"], ["qkv"]),
        n("Split", ["qkv", "split"], ["q", "k", "v"], axis=-1),
        n("Reshape", ["q", "heads_shape"], ["q4"]), n("Reshape", ["k", "heads_shape"], ["k4"]),
        n("Reshape", ["v", "heads_shape"], ["v4"]),
        n("Transpose", ["q4"], ["qh"], perm=[0, 2, 1, 3]), n("Transpose", ["k4"], ["kt"], perm=[0, 2, 3, 1]),
        n("Transpose", ["v4"], ["vh"], perm=[0, 2, 1, 3]),
        n("MatMul", ["qh", "kt"], ["scores"]), n("Mul", ["scores", "scale"], ["scaled"]),
        # causal mask from Shape -> Gather -> Range -> comparison
        n("Shape", ["x"], ["xshape"]), n("Gather", ["xshape", "one"], ["seqlen"]),
        n("Range", ["zero", "seqlen", "one"], ["positions"]),
        n("Unsqueeze", ["positions", "axes0"], ["row"]),
        n("Unsqueeze", ["positions", "one"], ["col"]),
        n("Greater", ["row", "col"], ["future"]),
        n("Where", ["future", "neg", "scaled"], ["masked"]),
        n("Softmax", ["masked"], ["attn"], axis=-1),
        n("MatMul", ["attn", "vh"], ["ctx"]),
        n("Transpose", ["ctx"], ["ctx_t"], perm=[0, 2, 1, 3]),
        n("Shape", ["ctx_t"], ["cshape"]), n("Slice", ["cshape", "axes0", "heads_shape_2"], ["lead"]),
        n("Concat", ["lead", "merge_tail"], ["merged_shape"], axis=0),
        n("Reshape", ["ctx_t", "merged_shape"], ["ctx_m"]),
        n("MatMul", ["ctx_m", "wo"], ["attn_out"]), n("Add", ["x", "attn_out"], ["res1"]),
        n("LayerNormalization", ["res1", "ln2_g"], ["ln2"], axis=-1),
        n("MatMul", ["ln2", "w1"], ["up"]), n("Gelu", ["up"], ["act"]),
        n("MatMul", ["act", "w2"], ["down"]), n("Add", ["res1", "down"], ["y"]),
    ]
    inits["heads_shape_2"] = numpy_helper.from_array(np.array([2], np.int64), "heads_shape_2")
    graph = helper.make_graph(
        nodes, "block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", dim])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", dim])],
        list(inits.values()),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    return model, [rng.standard_normal((2, seq, dim)).astype(np.float32)]


def small_cnn():
    """conv-bn-relu-pool twice (the second a strided conv then a depthwise one), an average pool,
    global average pooling and a Gemm classifier: the layers of a small image model."""
    rng = np.random.default_rng(2)

    def tensor(name, values):
        return numpy_helper.from_array(values.astype(np.float32), name)

    inits = [
        tensor("w1", rng.standard_normal((8, 3, 3, 3)) * 0.3), tensor("b1", rng.standard_normal(8) * 0.1),
        tensor("bn_scale", 1 + 0.1 * rng.standard_normal(8)), tensor("bn_bias", 0.1 * rng.standard_normal(8)),
        tensor("bn_mean", 0.1 * rng.standard_normal(8)), tensor("bn_var", 1 + 0.2 * rng.random(8)),
        tensor("w2", rng.standard_normal((16, 8, 3, 3)) * 0.2),
        tensor("w3", rng.standard_normal((16, 1, 3, 3)) * 0.3), tensor("b3", rng.standard_normal(16) * 0.1),
        tensor("w4", rng.standard_normal((10, 16)) * 0.3), tensor("b4", rng.standard_normal(10) * 0.1),
    ]
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        n("BatchNormalization", ["c1", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["n1"], epsilon=1e-5),
        n("Relu", ["n1"], ["r1"]),
        n("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["p1", "w2"], ["c2"], strides=[2, 2], auto_pad="SAME_UPPER"),
        n("Relu", ["c2"], ["r2"]),
        n("Conv", ["r2", "w3", "b3"], ["c3"], group=16, pads=[1, 1, 1, 1]),
        n("AveragePool", ["c3"], ["p3"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
        n("GlobalAveragePool", ["p3"], ["g"]),
        n("Flatten", ["g"], ["f"]),
        n("Gemm", ["f", "w4", "b4"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "small_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 16, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model, [rng.standard_normal((2, 3, 16, 16)).astype(np.float32)]


def benchmark_script(name):
    """The module of scripts/NAME.py (a benchmark model's writer), whose build() makes the model."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mobilenetv3_small():
    """Every MobileNetV3-Small block (depthwise 3x3 and 5x5 convolutions with strides 1 and 2,
    squeeze-and-excitation, HardSwish) on a 32x32 image, the classifier narrowed to 64 and 10."""
    model = benchmark_script("onnx-mobilenetv3").build(size=32, classes=10, seed=3, hidden=64)
    return model, [np.random.default_rng(3).standard_normal((1, 3, 32, 32)).astype(np.float32)]


def bert_small(decomposed_layer_norm):
    """Two BERT encoder layers (hidden 32, 4 heads, 8 tokens, 50 words) with a padding mask."""
    model = benchmark_script("onnx-bert").build(
        layers=2, hidden=32, heads=4, seq=8, vocab=50, decomposed_layer_norm=decomposed_layer_norm, seed=4)
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 50, (2, 8), dtype=np.int64)
    mask = np.ones((2, 8), np.int64)
    mask[1, 5:] = 0
    return model, [ids, mask]


def models(out_dir):
    import onnxruntime

    for name, build in (
        ("mlp", mlp), ("transformer_block", transformer_block), ("small_cnn", small_cnn),
        ("mobilenetv3_small", mobilenetv3_small), ("bert_small", lambda: bert_small(False)),
        ("bert_small_decomposed", lambda: bert_small(True)),
    ):
        model, inputs = build()
        onnx.checker.check_model(model)
        folder = os.path.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        onnx.save(model, os.path.join(folder, "model.onnx"))
        session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        feeds = {i.name: value for i, value in zip(session.get_inputs(), inputs)}
        outputs = session.run(None, feeds)
        for k, value in enumerate(inputs):
            np.save(os.path.join(folder, f"input_{k}.npy"), value)
        for k, value in enumerate(outputs):
            np.save(os.path.join(folder, f"output_{k}.npy"), value)
    print(f"wrote models to {out_dir}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "node":
        node_tests(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 3 and sys.argv[1] == "models":
        try:
            import onnxruntime  # noqa: F401
        except ImportError as error:
            print(f"missing Python package: {error.name}", file=sys.stderr)
            sys.exit(3)
        models(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
