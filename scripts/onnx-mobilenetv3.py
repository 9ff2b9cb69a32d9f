#!/usr/bin/env python3
"""Writes a MobileNetV3-Small-shaped ONNX model with random weights (no torch needed), as torch.onnx
exports torchvision's mobilenet_v3_small in eval mode: batch norm folded into each Conv's bias,
inverted residual blocks (1x1 expansion, depthwise Conv with group == channels, squeeze-and-
excitation GlobalAveragePool -> 1x1 Conv -> Relu -> 1x1 Conv -> HardSigmoid -> Mul, 1x1
projection, residual Add), Relu/HardSwish, GlobalAveragePool, Flatten, Gemm, HardSwish, Gemm.

  onnx-mobilenetv3.py OUT.onnx [--size 224] [--classes 1000] [--seed 0]

The weights are He-initialised so that activations stay in range through the blocks.
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

# torchvision's mobilenet_v3_small: (kernel, expanded channels, out channels, squeeze-excite,
# activation, stride) per inverted residual block, after a 16-channel stem.
SMALL_BLOCKS = (
    (3, 16, 16, True, "Relu", 2),
    (3, 72, 24, False, "Relu", 2),
    (3, 88, 24, False, "Relu", 1),
    (5, 96, 40, True, "HardSwish", 2),
    (5, 240, 40, True, "HardSwish", 1),
    (5, 240, 40, True, "HardSwish", 1),
    (5, 120, 48, True, "HardSwish", 1),
    (5, 144, 48, True, "HardSwish", 1),
    (5, 288, 96, True, "HardSwish", 2),
    (5, 576, 96, True, "HardSwish", 1),
    (5, 576, 96, True, "HardSwish", 1),
)


def make_divisible(value, divisor=8):
    """torchvision's _make_divisible: the nearest multiple of `divisor`, never 10% below `value`."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def build(size=224, classes=1000, seed=0, hidden=1024):
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    counter = [0]

    def fresh(prefix):
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def activation(x, kind):
        if kind is None:
            return x
        y = fresh(kind.lower())
        if kind == "HardSigmoid":  # torch exports nn.Hardsigmoid with these constants
            nodes.append(helper.make_node(kind, [x], [y], alpha=1.0 / 6, beta=0.5))
        else:
            nodes.append(helper.make_node(kind, [x], [y]))
        return y

    def conv(x, cin, cout, k, stride=1, groups=1, act=None):
        w, b, y = fresh("w"), fresh("b"), fresh("conv")
        scale = np.sqrt(2.0 / (cin // groups * k * k))
        weight = rng.standard_normal((cout, cin // groups, k, k)) * scale
        inits.append(numpy_helper.from_array(weight.astype(np.float32), w))
        inits.append(numpy_helper.from_array((rng.standard_normal(cout) * 0.01).astype(np.float32), b))
        pad = (k - 1) // 2
        nodes.append(helper.make_node("Conv", [x, w, b], [y], kernel_shape=[k, k], strides=[stride, stride],
                                      pads=[pad] * 4, group=groups, dilations=[1, 1]))
        return activation(y, act)

    def squeeze_excite(x, channels):
        squeezed = make_divisible(channels // 4)
        pooled = fresh("se_pool")
        nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled]))
        h = conv(pooled, channels, squeezed, 1, act="Relu")
        gate = conv(h, squeezed, channels, 1, act="HardSigmoid")
        y = fresh("se_scale")
        nodes.append(helper.make_node("Mul", [gate, x], [y]))
        return y

    def inverted_residual(x, cin, k, expanded, cout, use_se, act, stride):
        h = conv(x, cin, expanded, 1, act=act) if expanded != cin else x
        h = conv(h, expanded, expanded, k, stride, groups=expanded, act=act)
        if use_se:
            h = squeeze_excite(h, expanded)
        h = conv(h, expanded, cout, 1)
        if stride != 1 or cin != cout:
            return h
        y = fresh("add")
        nodes.append(helper.make_node("Add", [h, x], [y]))
        return y

    x = conv("input", 3, 16, 3, 2, act="HardSwish")
    cin = 16
    for k, expanded, cout, use_se, act, stride in SMALL_BLOCKS:
        x = inverted_residual(x, cin, k, expanded, cout, use_se, act, stride)
        cin = cout
    last = 6 * cin
    x = conv(x, cin, last, 1, act="HardSwish")
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], axis=1))
    inits.append(numpy_helper.from_array((rng.standard_normal((hidden, last)) * np.sqrt(2.0 / last)).astype(np.float32),
                                         "fc1_w"))
    inits.append(numpy_helper.from_array(np.zeros(hidden, np.float32), "fc1_b"))
    nodes.append(helper.make_node("Gemm", ["flat", "fc1_w", "fc1_b"], ["fc1"], transB=1))
    nodes.append(helper.make_node("HardSwish", ["fc1"], ["fc1_act"]))
    inits.append(numpy_helper.from_array((rng.standard_normal((classes, hidden)) * 0.03).astype(np.float32), "fc2_w"))
    inits.append(numpy_helper.from_array(np.zeros(classes, np.float32), "fc2_b"))
    nodes.append(helper.make_node("Gemm", ["fc1_act", "fc2_w", "fc2_b"], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes, "mobilenet_v3_small",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    onnx.save(build(options.size, options.classes, options.seed), options.out)
    print(f"wrote {options.out}")
