#!/usr/bin/env python3
"""Writes a ResNet-18-shaped ONNX model with random weights (no torch needed), as torch.onnx
exports torchvision's resnet18 in eval mode: batch norm folded into each Conv's bias, Relu,
MaxPool, residual Add, GlobalAveragePool, Flatten, Gemm.

  onnx-resnet18.py OUT.onnx [--size 224] [--seed 0]

The weights are He-initialised so that activations stay in range through the 18 layers.
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


def build(size, seed):
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    counter = [0]

    def fresh(prefix):
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def conv(x, cin, cout, k, stride, pad, relu=True):
        w, b, y = fresh("w"), fresh("b"), fresh("conv")
        scale = np.sqrt(2.0 / (cin * k * k))
        inits.append(numpy_helper.from_array((rng.standard_normal((cout, cin, k, k)) * scale).astype(np.float32), w))
        inits.append(numpy_helper.from_array((rng.standard_normal(cout) * 0.01).astype(np.float32), b))
        nodes.append(helper.make_node("Conv", [x, w, b], [y], kernel_shape=[k, k], strides=[stride, stride],
                                      pads=[pad] * 4))
        if not relu:
            return y
        r = fresh("relu")
        nodes.append(helper.make_node("Relu", [y], [r]))
        return r

    def block(x, cin, cout, stride):
        h = conv(x, cin, cout, 3, stride, 1)
        h = conv(h, cout, cout, 3, 1, 1, relu=False)
        shortcut = conv(x, cin, cout, 1, stride, 0, relu=False) if stride != 1 or cin != cout else x
        s, r = fresh("add"), fresh("relu")
        nodes.append(helper.make_node("Add", [h, shortcut], [s]))
        nodes.append(helper.make_node("Relu", [s], [r]))
        return r

    x = conv("input", 3, 64, 7, 2, 3)
    nodes.append(helper.make_node("MaxPool", [x], ["pool"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
    x, cin = "pool", 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        x = block(x, cin, cout, stride)
        x = block(x, cout, cout, 1)
        cin = cout
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], axis=1))
    inits.append(numpy_helper.from_array((rng.standard_normal((1000, 512)) * 0.03).astype(np.float32), "fc_w"))
    inits.append(numpy_helper.from_array(np.zeros(1000, np.float32), "fc_b"))
    nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes, "resnet18",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1000])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    onnx.save(build(options.size, options.seed), options.out)
    print(f"wrote {options.out}")
