"""Small ONNX models built with onnx.helper for the import tests: one per group of ops
the gallery's exports lack, each with its inputs and random weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(1)


Built = tuple[list[onnx.NodeProto], list[onnx.ValueInfoProto], dict[str, np.ndarray], int]


def save(tmp_path: Path, nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto],
          weights: dict[str, np.ndarray], opset: int, name: str = "model") -> Path:
    graph = helper.make_graph(
        nodes, name, inputs, [helper.make_tensor_value_info(nodes[-1].output[0],
                                                             TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(v, k) for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model = onnx.shape_inference.infer_shapes(model)  # the checker wants the output's shape
    onnx.checker.check_model(model)
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def data(*shape: int, name: str = "x", elem: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, ["batch", *shape])


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32) * 0.5


def conv1d() -> Built:
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2], strides=[2]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "g", "gb"], ["y"], alpha=0.5, beta=2.0),
             helper.make_node("LogSoftmax", ["y"], ["out"], axis=1)]
    weights = {"w": rand(4, 2, 3), "b": rand(4), "g": rand(20, 5), "gb": rand(5)}
    return nodes, [data(2, 10)], weights, 17


def conv2d() -> Built:
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"],
                              epsilon=1e-3),
             helper.make_node("Elu", ["n"], ["e"], alpha=0.5),
             helper.make_node("AveragePool", ["e"], ["a"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Sigmoid", ["a"], ["s1"]),
             helper.make_node("GlobalAveragePool", ["s1"], ["gp"]),
             helper.make_node("Flatten", ["gp"], ["f"]),
             helper.make_node("MatMul", ["f", "mw"], ["mm"]),
             helper.make_node("Add", ["mm", "mb"], ["l"]),
             helper.make_node("Softmax", ["l"], ["out"], axis=-1)]
    weights = {"w": rand(4, 3, 3, 3), "s": rand(4), "b": rand(4), "m": rand(4),
               "v": np.abs(rand(4)) + 0.5, "mw": rand(4, 3), "mb": rand(3)}
    return nodes, [data(3, 8, 8)], weights, 17


def branches() -> Built:
    nodes = [helper.make_node("Gemm", ["x", "wa", "ba"], ["ga"], transB=1, name="/left/Gemm"),
             helper.make_node("Tanh", ["ga"], ["a"], name="/left/Tanh"),
             helper.make_node("Gemm", ["x", "wb"], ["gb"], transB=1, name="/right/Gemm"),
             helper.make_node("LeakyRelu", ["gb"], ["b"], alpha=0.2, name="/right/LeakyRelu"),
             helper.make_node("Mul", ["a", "b"], ["m"]),
             helper.make_node("Concat", ["m", "a"], ["c"], axis=-1),
             helper.make_node("Dropout", ["c"], ["d"]),
             helper.make_node("Identity", ["d"], ["out"])]
    return nodes, [data(6)], {"wa": rand(5, 6), "ba": rand(5), "wb": rand(5, 6)}, 17


def sequence() -> Built:
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
             helper.make_node("LayerNormalization", ["t", "s", "b"], ["n"], epsilon=1e-4),
             helper.make_node("Gelu", ["n"], ["g"], approximate="tanh"),
             helper.make_node("Reshape", ["g", "shape"], ["r"]),
             helper.make_node("ReduceMean", ["r", "axes"], ["mean"], keepdims=0),
             helper.make_node("Relu", ["mean"], ["out"])]
    weights = {"s": rand(4), "b": rand(4), "shape": np.array([-1, 3, 8]), "axes": np.array([1])}
    return nodes, [data(4, 6)], weights, 20


def upsampling() -> Built:
    nodes = [helper.make_node("ConvTranspose", ["x", "w", "b"], ["out"], strides=[2, 2],
                              pads=[1, 1, 1, 1], kernel_shape=[4, 4])]
    return nodes, [data(2, 4, 4)], {"w": rand(2, 3, 4, 4), "b": rand(3)}, 17


def tokens() -> Built:
    nodes = [helper.make_node("Gather", ["table", "x"], ["e"]),
             helper.make_node("Gather", ["e", "zero"], ["out"], axis=1)]
    weights = {"table": rand(7, 4), "zero": np.array(0)}
    return nodes, [data(5, elem=TensorProto.INT64)], weights, 17


def time_first(op: str, hidden: int, **attrs: Any) -> list[onnx.NodeProto]:
    outputs = ["y", "h"] if op != "LSTM" else ["y", "h", "c"]
    return [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0, 2]),
            helper.make_node(op, ["t", "w", "r", "b"], outputs, hidden_size=hidden, **attrs)]


def gru_bidirectional_last() -> Built:
    nodes = [*time_first("GRU", 4, direction="bidirectional", linear_before_reset=1),
             helper.make_node("Gather", ["h", "i0"], ["h0"], axis=0),
             helper.make_node("Gather", ["h", "i1"], ["h1"], axis=0),
             helper.make_node("Concat", ["h0", "h1"], ["out"], axis=1)]
    weights = {"w": rand(2, 12, 3), "r": rand(2, 12, 4), "b": rand(2, 24),
               "i0": np.array(0), "i1": np.array(1)}
    return nodes, [data(5, 3)], weights, 17


def lstm_sequence() -> Built:
    nodes = [*time_first("LSTM", 4),
             helper.make_node("Transpose", ["y"], ["yt"], perm=[0, 2, 1, 3]),
             helper.make_node("Reshape", ["yt", "shape"], ["ys"]),
             helper.make_node("Transpose", ["ys"], ["out"], perm=[1, 0, 2])]
    weights = {"w": rand(1, 16, 3), "r": rand(1, 16, 4), "b": rand(1, 32),
               "shape": np.array([0, 0, -1])}
    return nodes, [data(5, 3)], weights, 17


def rnn_last() -> Built:
    nodes = [*time_first("RNN", 4), helper.make_node("Gather", ["h", "last"], ["out"], axis=0)]
    weights = {"w": rand(1, 4, 3), "r": rand(1, 4, 4), "b": rand(1, 8), "last": np.array(-1)}
    return nodes, [data(5, 3)], weights, 17


def scales() -> Built:
    nodes = [helper.make_node("Mul", ["x", "k"], ["a"]),
             helper.make_node("Sigmoid", ["a"], ["s"]),
             helper.make_node("Mul", ["a", "s"], ["silu"]),
             helper.make_node("Div", ["silu", "d"], ["out"])]
    return nodes, [data(6)], {"k": np.array(2.5, np.float32), "d": np.array(4.0, np.float32)}, 17


def resize() -> Built:
    nodes = [helper.make_node("Resize", ["x", "", "twice"], ["n"], mode="nearest",
                              coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
             helper.make_node("Resize", ["n", "", "half_again"], ["out"], mode="linear",
                              coordinate_transformation_mode="half_pixel")]
    weights = {"twice": np.array([1, 1, 2, 2], np.float32),
               "half_again": np.array([1, 1, 1.5, 1.5], np.float32)}
    return nodes, [data(2, 4, 4)], weights, 17


def positions() -> Built:
    length, dim = 4, 6
    position = np.arange(length, dtype=np.float32)[:, None]
    rate = np.exp(np.arange(0, dim, 2, dtype=np.float32) * np.float32(-np.log(1e4) / dim))
    fixed = np.zeros((1, length, dim), np.float32)
    fixed[0, :, 0::2], fixed[0, :, 1::2] = np.sin(position * rate), np.cos(position * rate)
    nodes = [helper.make_node("Add", ["x", "fixed"], ["p"]),
             helper.make_node("Add", ["learned", "p"], ["out"])]
    return nodes, [data(length, dim)], {"fixed": fixed, "learned": rand(length, dim)}, 17


def written_out() -> Built:
    """LayerNorm and GELU in elementary ops, as exporters for older opsets write them."""
    nodes = [helper.make_node("ReduceMean", ["x"], ["mean"], axes=[-1]),
             helper.make_node("Sub", ["x", "mean"], ["d"]),
             helper.make_node("Pow", ["d", "two"], ["sq"]),
             helper.make_node("ReduceMean", ["sq"], ["var"], axes=[-1]),
             helper.make_node("Add", ["var", "eps"], ["ve"]),
             helper.make_node("Sqrt", ["ve"], ["std"]),
             helper.make_node("Div", ["d", "std"], ["n"]),
             helper.make_node("Mul", ["n", "w"], ["nw"]),
             helper.make_node("Add", ["nw", "b"], ["ln"]),
             helper.make_node("Div", ["ln", "root2"], ["s"]),
             helper.make_node("Erf", ["s"], ["e"]),
             helper.make_node("Add", ["e", "one"], ["e1"]),
             helper.make_node("Mul", ["ln", "e1"], ["xe"]),
             helper.make_node("Mul", ["xe", "half"], ["out"])]
    weights = {"two": np.array(2.0, np.float32), "eps": np.array(1e-5, np.float32),
               "w": rand(6), "b": rand(6), "root2": np.array(np.sqrt(2.0), np.float32),
               "one": np.array(1.0, np.float32), "half": np.array(0.5, np.float32)}
    return nodes, [data(4, 6)], weights, 17


def squeezes() -> Built:
    nodes = [helper.make_node("Squeeze", ["x", "last"], ["s"]),
             helper.make_node("Unsqueeze", ["s", "first"], ["out"])]
    return nodes, [data(4, 1)], {"last": np.array([2]), "first": np.array([1])}, 17


HAND_BUILT = {
    "conv1d": (conv1d, ["Conv1d", "ReLU", "MaxPool1d", "Flatten", "Linear", "LogSoftmax"]),
    "conv2d": (conv2d, ["Conv2d", "BatchNorm2d", "ELU", "AvgPool2d", "Sigmoid",
                         "AdaptiveAvgPool2d", "Flatten", "Linear", "Softmax"]),
    "branches": (branches, ["Linear", "Tanh", "Linear", "LeakyReLU", "Multiply", "Concat"]),
    "sequence": (sequence, ["Permute", "LayerNorm", "GELU", "Reshape", "SequencePool", "ReLU"]),
    "upsampling": (upsampling, ["ConvTranspose2d"]),
    "tokens": (tokens, ["Embedding", "SequencePool"]),
    "gru": (gru_bidirectional_last, ["GRU"]),
    "lstm": (lstm_sequence, ["LSTM"]),
    "rnn": (rnn_last, ["RNN"]),
    "scales": (scales, ["Scale", "SiLU", "Scale"]),
    "resize": (resize, ["Upsample", "Upsample"]),
    "positions": (positions, ["PositionalEncoding", "PositionalEncoding"]),
    "written_out": (written_out, ["LayerNorm", "GELU"]),
    "squeezes": (squeezes, ["Squeeze", "Unsqueeze"]),
}
