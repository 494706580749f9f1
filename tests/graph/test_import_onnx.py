"""Importing ONNX files with graph.importers.import_onnx.

Every gallery network, exported by Layerloom itself, must import back as a network
that gives onnxruntime's outputs with the imported weights (and export again to an
ONNX file that does too). Small hand-built models cover the ops the gallery lacks;
unsupported ops and broken files are refused with messages naming node and file.

Exporting takes 1-8 s a network, so the default run takes three networks (``QUICK``)
that use the exporter's multi-op patterns; ``pytest -m slow`` runs all fifteen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from models import one_thread
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from graph.builder import NetworkBuilder
from graph.catalog import catalog
from graph.compile import compile_network, load_state_dict_by_id, plan_network
from graph.document import Document, natural_key
from graph.fileformat import load_graph, save_graph
from graph.importers import ImportedModel, ModelImportError, import_onnx, onnx_import
from runtime.export import export_module

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
GALLERY = [(p.stem, network) for p in sorted(EXAMPLES.glob("*.loom"))
           for network in load_graph(p).networks]
# the default run: Conv (+ folded BatchNorm) / MaxPool / Flatten / Gemm, an unrolled RNN,
# attention / Embedding / LayerNorm / GELU; hand-built models below cover the other ops
QUICK = {("cnn_digits", "main"), ("rnn_sine", "main"), ("transformer_reverse", "main")}
ROUND_TRIP = {("cnn_digits", "main")}
TOLERANCE = 1e-5
RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    with one_thread():
        yield


def _cases(selected: set[tuple[str, str]]) -> list[Any]:
    return [pytest.param(case, id=f"{case[0]}-{case[1]}",
                         marks=() if case in selected else pytest.mark.slow) for case in GALLERY]


Exporter = Callable[[tuple[str, str]], Path]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exporter:
    """Each gallery network exported to ONNX once (on first use), with random weights."""
    folder = tmp_path_factory.mktemp("gallery_onnx")
    cache: dict[tuple[str, str], Path] = {}

    def export(case: tuple[str, str]) -> Path:
        if case not in cache:
            stem, network = case
            doc = load_graph(EXAMPLES / f"{stem}.loom")
            module = _perturbed(compile_network(doc, network))
            path = folder / f"{stem}-{network}.onnx"
            export_module(doc, network, module, None, "onnx", path)
            cache[case] = path
        return cache[case]

    return export


def _perturbed(module: nn.Module) -> nn.Module:
    """Weights and norm statistics moved from their initial values (as by training), each
    by up to half its own scale: zero biases and all-one norms become distinct values."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for key, tensor in module.state_dict(keep_vars=True).items():
            if tensor.is_floating_point():
                scale = float(tensor.abs().max()) or 0.1
                noise = (torch.rand(tensor.shape, generator=gen) - 0.5) * scale
                if key.endswith("running_var"):
                    tensor.copy_(noise.abs() + 0.5)
                else:
                    tensor.add_(noise)
    return module.eval()


def _compiled(result: ImportedModel) -> nn.Module:
    module = compile_network(result.document, result.network).eval()
    load_state_dict_by_id(module, result.weights)
    return module


def _feeds(session: onnxruntime.InferenceSession, batch: int = 3) -> dict[str, np.ndarray]:
    feeds = {}
    for info in session.get_inputs():
        shape = [d if isinstance(d, int) else batch for d in info.shape]
        feeds[info.name] = (RNG.integers(0, 7, shape) if "int" in info.type
                            else RNG.standard_normal(shape).astype(np.float32))
    return feeds


def _run_onnx(path: Path, feeds: dict[str, np.ndarray]) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, feeds)[0])


def _assert_same_outputs(path: Path, result: ImportedModel) -> None:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = _feeds(session)
    expected = session.run(None, feeds)[0]
    with torch.no_grad():
        got = _compiled(result)(*(torch.from_numpy(x) for x in feeds.values())).numpy()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= TOLERANCE


# -- the gallery -----------------------------------------------------------------------
@pytest.mark.parametrize("case", _cases(QUICK))
def test_gallery_export_imports_back_with_the_same_outputs(
        case: tuple[str, str], exported: Exporter) -> None:
    path = exported(case)
    result = import_onnx(path)
    _assert_same_outputs(path, result)
    doc = load_graph(EXAMPLES / f"{case[0]}.loom")
    # weighted layers keep their names (as the export spells them: "code" is "code_1");
    # the exporter folds batch norms into the layer before them, and an encoder layer
    # comes back as its parts ("encoder_1.norm1", ...)
    names = {step.node.id: step.name for step in plan_network(doc, case[1]).layers}
    kept = {names[n.id] for n in doc.network(case[1]).nodes() if n.spec.has_weights
            and n.spec.id not in ("BatchNorm1d", "BatchNorm2d", "TransformerEncoderLayer")}
    assert kept <= {n.label for n in result.document.network(result.network).nodes()}


@pytest.mark.parametrize("case", _cases(ROUND_TRIP))
def test_imported_gallery_network_exports_to_onnx_with_the_same_outputs(
        case: tuple[str, str], exported: Exporter, tmp_path: Path) -> None:
    original = exported(case)
    result = import_onnx(original)
    again = tmp_path / "again.onnx"
    export_module(result.document, result.network, _compiled(result), None, "onnx", again)
    session = onnxruntime.InferenceSession(str(original), providers=["CPUExecutionProvider"])
    feeds = _feeds(session)
    assert np.abs(_run_onnx(again, feeds) - _run_onnx(original, feeds)).max() <= TOLERANCE


def _export_network(doc: Document, path: Path) -> Path:
    export_module(doc, "main", _perturbed(compile_network(doc)), None, "onnx", path)
    return path


def test_causal_self_attention_and_cross_attention_import_back(tmp_path: Path) -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    query, memory = b.add("Input", shape=[6, 8]), b.add("Input", shape=[5, 4])
    own = b.add("MultiheadAttention", query, num_heads=2, causal=True, label="own")
    b.add("Output", b.add("MultiheadAttention", own, memory, num_heads=4, label="cross"))
    path = _export_network(doc, tmp_path / "attention.onnx")
    result = import_onnx(path)
    _assert_same_outputs(path, result)
    net = result.document.network(result.network)
    assert {n.label: n.params["causal"] for n in net.nodes()
            if n.spec.id == "MultiheadAttention"} == {"own": True, "cross": False}


# Every catalog layer in a tiny network Input(s) → layer → Output, exported by Layerloom.
_FEATURES, _SEQUENCE, _IMAGE = {"shape": [6]}, {"shape": [5, 8]}, {"shape": [3, 8, 8]}
CATALOG_CASES: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {
    "Linear": ([_SEQUENCE], {}), "Dropout": ([_FEATURES], {}),
    "BatchNorm1d": ([{"shape": [3, 5]}], {}), "LayerNorm": ([_SEQUENCE], {}),
    "Flatten": ([_IMAGE], {}), "Reshape": ([{"shape": [64]}], {"shape": [4, 16]}),
    "Permute": ([{"shape": [2, 3, 4]}], {"dims": [2, 0, 1]}),
    "Scale": ([_FEATURES], {"factor": 3.0}),
    **{a: ([_FEATURES], {}) for a in ("ReLU", "SiLU", "Sigmoid", "Tanh", "LeakyReLU", "GELU",
                                      "ELU")},
    "Softmax": ([_SEQUENCE], {"dim": 0}), "LogSoftmax": ([_SEQUENCE], {}),
    "Conv1d": ([{"shape": [3, 12]}], {"stride": 2}), "MaxPool1d": ([{"shape": [3, 12]}], {}),
    **{c: ([_IMAGE], {}) for c in ("Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d",
                                   "AdaptiveAvgPool2d", "BatchNorm2d", "Patchify")},
    "Upsample": ([_IMAGE], {"mode": "bilinear"}),
    "RNN": ([_SEQUENCE], {"output": "sequence", "bidirectional": True, "num_layers": 2}),
    "GRU": ([_SEQUENCE], {"bidirectional": True}),
    "LSTM": ([_SEQUENCE], {"num_layers": 2}),
    "Embedding": ([{"shape": [5], "kind": "tokens", "vocab_size": 7}], {}),
    "PositionalEncoding": ([_SEQUENCE], {}), "SequencePool": ([_SEQUENCE], {"mode": "first"}),
    "MultiheadAttention": ([_SEQUENCE], {"num_heads": 2}),
    "TransformerEncoderLayer": ([_SEQUENCE], {"norm_first": False, "activation": "gelu"}),
    "TransformerDecoderLayer": ([_SEQUENCE, {"shape": [7, 8]}], {}),
    "Add": ([_FEATURES, _FEATURES], {}), "Multiply": ([_IMAGE, _IMAGE], {}),
    "Concat": ([_SEQUENCE, _SEQUENCE], {"dim": -1}),
    "Squeeze": ([{"shape": [5, 1]}], {"dim": -1}), "Unsqueeze": ([_SEQUENCE], {"dim": 1}),
    "PaddingMask": ([{"shape": [5], "kind": "tokens", "vocab_size": 7}], {"padding_idx": 2}),
}


@pytest.mark.slow  # a layer added to the catalog is flagged here, by the long run
def test_every_catalog_layer_has_an_import_case() -> None:
    layers = {spec.id for spec in catalog() if spec.role == "layer"}
    assert layers <= set(CATALOG_CASES)


@pytest.mark.slow
@pytest.mark.parametrize("type_id", [t for t in CATALOG_CASES if t in catalog()])
def test_catalog_layer_exported_by_layerloom_imports_back(type_id: str, tmp_path: Path) -> None:
    inputs, params = CATALOG_CASES[type_id]
    doc = Document.new()
    b = NetworkBuilder(doc)
    b.add("Output", b.add(type_id, *(b.add("Input", **i) for i in inputs), **params))
    path = _export_network(doc, tmp_path / f"{type_id}.onnx")
    _assert_same_outputs(path, import_onnx(path))


def test_imported_network_saves_and_loads_as_an_ordinary_document(tmp_path: Path) -> None:
    path = _save(tmp_path, *_branches())
    result = import_onnx(path)
    save_graph(result.document, tmp_path / "net.loom")
    reloaded = load_graph(tmp_path / "net.loom")
    _assert_same_outputs(path, ImportedModel(reloaded, result.network, result.weights))


# -- hand-built models for ops the gallery lacks ---------------------------------------
Built = tuple[list[onnx.NodeProto], list[onnx.ValueInfoProto], dict[str, np.ndarray], int]


def _save(tmp_path: Path, nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto],
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


def _x(*shape: int, name: str = "x", elem: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, ["batch", *shape])


def _w(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32) * 0.5


def _conv1d() -> Built:
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2], strides=[2]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "g", "gb"], ["y"], alpha=0.5, beta=2.0),
             helper.make_node("LogSoftmax", ["y"], ["out"], axis=1)]
    return nodes, [_x(2, 10)], {"w": _w(4, 2, 3), "b": _w(4), "g": _w(20, 5), "gb": _w(5)}, 17


def _conv2d() -> Built:
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
    weights = {"w": _w(4, 3, 3, 3), "s": _w(4), "b": _w(4), "m": _w(4),
               "v": np.abs(_w(4)) + 0.5, "mw": _w(4, 3), "mb": _w(3)}
    return nodes, [_x(3, 8, 8)], weights, 17


def _branches() -> Built:
    nodes = [helper.make_node("Gemm", ["x", "wa", "ba"], ["ga"], transB=1, name="/left/Gemm"),
             helper.make_node("Tanh", ["ga"], ["a"], name="/left/Tanh"),
             helper.make_node("Gemm", ["x", "wb"], ["gb"], transB=1, name="/right/Gemm"),
             helper.make_node("LeakyRelu", ["gb"], ["b"], alpha=0.2, name="/right/LeakyRelu"),
             helper.make_node("Mul", ["a", "b"], ["m"]),
             helper.make_node("Concat", ["m", "a"], ["c"], axis=-1),
             helper.make_node("Dropout", ["c"], ["d"]),
             helper.make_node("Identity", ["d"], ["out"])]
    return nodes, [_x(6)], {"wa": _w(5, 6), "ba": _w(5), "wb": _w(5, 6)}, 17


def _sequence() -> Built:
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1]),
             helper.make_node("LayerNormalization", ["t", "s", "b"], ["n"], epsilon=1e-4),
             helper.make_node("Gelu", ["n"], ["g"], approximate="tanh"),
             helper.make_node("Reshape", ["g", "shape"], ["r"]),
             helper.make_node("ReduceMean", ["r", "axes"], ["mean"], keepdims=0),
             helper.make_node("Relu", ["mean"], ["out"])]
    weights = {"s": _w(4), "b": _w(4), "shape": np.array([-1, 3, 8]), "axes": np.array([1])}
    return nodes, [_x(4, 6)], weights, 20


def _upsampling() -> Built:
    nodes = [helper.make_node("ConvTranspose", ["x", "w", "b"], ["out"], strides=[2, 2],
                              pads=[1, 1, 1, 1], kernel_shape=[4, 4])]
    return nodes, [_x(2, 4, 4)], {"w": _w(2, 3, 4, 4), "b": _w(3)}, 17


def _tokens() -> Built:
    nodes = [helper.make_node("Gather", ["table", "x"], ["e"]),
             helper.make_node("Gather", ["e", "zero"], ["out"], axis=1)]
    weights = {"table": _w(7, 4), "zero": np.array(0)}
    return nodes, [_x(5, elem=TensorProto.INT64)], weights, 17


def _time_first(op: str, hidden: int, **attrs: Any) -> list[onnx.NodeProto]:
    outputs = ["y", "h"] if op != "LSTM" else ["y", "h", "c"]
    return [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0, 2]),
            helper.make_node(op, ["t", "w", "r", "b"], outputs, hidden_size=hidden, **attrs)]


def _gru_bidirectional_last() -> Built:
    nodes = [*_time_first("GRU", 4, direction="bidirectional", linear_before_reset=1),
             helper.make_node("Gather", ["h", "i0"], ["h0"], axis=0),
             helper.make_node("Gather", ["h", "i1"], ["h1"], axis=0),
             helper.make_node("Concat", ["h0", "h1"], ["out"], axis=1)]
    weights = {"w": _w(2, 12, 3), "r": _w(2, 12, 4), "b": _w(2, 24),
               "i0": np.array(0), "i1": np.array(1)}
    return nodes, [_x(5, 3)], weights, 17


def _lstm_sequence() -> Built:
    nodes = [*_time_first("LSTM", 4),
             helper.make_node("Transpose", ["y"], ["yt"], perm=[0, 2, 1, 3]),
             helper.make_node("Reshape", ["yt", "shape"], ["ys"]),
             helper.make_node("Transpose", ["ys"], ["out"], perm=[1, 0, 2])]
    weights = {"w": _w(1, 16, 3), "r": _w(1, 16, 4), "b": _w(1, 32), "shape": np.array([0, 0, -1])}
    return nodes, [_x(5, 3)], weights, 17


def _rnn_last() -> Built:
    nodes = [*_time_first("RNN", 4), helper.make_node("Gather", ["h", "last"], ["out"], axis=0)]
    weights = {"w": _w(1, 4, 3), "r": _w(1, 4, 4), "b": _w(1, 8), "last": np.array(-1)}
    return nodes, [_x(5, 3)], weights, 17


def _scales() -> Built:
    nodes = [helper.make_node("Mul", ["x", "k"], ["a"]),
             helper.make_node("Sigmoid", ["a"], ["s"]),
             helper.make_node("Mul", ["a", "s"], ["silu"]),
             helper.make_node("Div", ["silu", "d"], ["out"])]
    return nodes, [_x(6)], {"k": np.array(2.5, np.float32), "d": np.array(4.0, np.float32)}, 17


def _resize() -> Built:
    nodes = [helper.make_node("Resize", ["x", "", "twice"], ["n"], mode="nearest",
                              coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
             helper.make_node("Resize", ["n", "", "half_again"], ["out"], mode="linear",
                              coordinate_transformation_mode="half_pixel")]
    weights = {"twice": np.array([1, 1, 2, 2], np.float32),
               "half_again": np.array([1, 1, 1.5, 1.5], np.float32)}
    return nodes, [_x(2, 4, 4)], weights, 17


def _positions() -> Built:
    length, dim = 4, 6
    position = np.arange(length, dtype=np.float32)[:, None]
    rate = np.exp(np.arange(0, dim, 2, dtype=np.float32) * np.float32(-np.log(1e4) / dim))
    fixed = np.zeros((1, length, dim), np.float32)
    fixed[0, :, 0::2], fixed[0, :, 1::2] = np.sin(position * rate), np.cos(position * rate)
    nodes = [helper.make_node("Add", ["x", "fixed"], ["p"]),
             helper.make_node("Add", ["learned", "p"], ["out"])]
    return nodes, [_x(length, dim)], {"fixed": fixed, "learned": _w(length, dim)}, 17


def _written_out() -> Built:
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
               "w": _w(6), "b": _w(6), "root2": np.array(np.sqrt(2.0), np.float32),
               "one": np.array(1.0, np.float32), "half": np.array(0.5, np.float32)}
    return nodes, [_x(4, 6)], weights, 17


def _squeezes() -> Built:
    nodes = [helper.make_node("Squeeze", ["x", "last"], ["s"]),
             helper.make_node("Unsqueeze", ["s", "first"], ["out"])]
    return nodes, [_x(4, 1)], {"last": np.array([2]), "first": np.array([1])}, 17


HAND_BUILT = {
    "conv1d": (_conv1d, ["Conv1d", "ReLU", "MaxPool1d", "Flatten", "Linear", "LogSoftmax"]),
    "conv2d": (_conv2d, ["Conv2d", "BatchNorm2d", "ELU", "AvgPool2d", "Sigmoid",
                         "AdaptiveAvgPool2d", "Flatten", "Linear", "Softmax"]),
    "branches": (_branches, ["Linear", "Tanh", "Linear", "LeakyReLU", "Multiply", "Concat"]),
    "sequence": (_sequence, ["Permute", "LayerNorm", "GELU", "Reshape", "SequencePool", "ReLU"]),
    "upsampling": (_upsampling, ["ConvTranspose2d"]),
    "tokens": (_tokens, ["Embedding", "SequencePool"]),
    "gru": (_gru_bidirectional_last, ["GRU"]),
    "lstm": (_lstm_sequence, ["LSTM"]),
    "rnn": (_rnn_last, ["RNN"]),
    "scales": (_scales, ["Scale", "SiLU", "Scale"]),
    "resize": (_resize, ["Upsample", "Upsample"]),
    "positions": (_positions, ["PositionalEncoding", "PositionalEncoding"]),
    "written_out": (_written_out, ["LayerNorm", "GELU"]),
    "squeezes": (_squeezes, ["Squeeze", "Unsqueeze"]),
}


@pytest.mark.parametrize("name", list(HAND_BUILT))
def test_hand_built_model_imports_with_the_same_outputs(name: str, tmp_path: Path) -> None:
    build, types = HAND_BUILT[name]
    path = _save(tmp_path, *build())
    result = import_onnx(path)
    net = result.document.network(result.network)
    layers = sorted((n for n in net.nodes() if n.spec.role == "layer"),
                    key=lambda n: natural_key(n.id))  # in the order they were added
    assert [n.spec.id for n in layers] == types
    _assert_same_outputs(path, result)


def test_hand_built_models_keep_their_settings(tmp_path: Path) -> None:
    net = import_onnx(_save(tmp_path, *_conv2d())).document.network("main")
    params = {n.spec.id: n.params for n in net.nodes()}
    assert params["Conv2d"]["stride"] == 2 and params["Conv2d"]["bias"] is False
    assert params["BatchNorm2d"]["eps"] == pytest.approx(1e-3)
    net = import_onnx(_save(tmp_path, *_tokens())).document.network("main")
    token_input = next(n for n in net.nodes() if n.spec.id == "Input")
    assert token_input.params["kind"] == "tokens" and token_input.params["vocab_size"] == 7
    assert token_input.params["shape"] == (5,)


def test_settings_are_read_from_the_ops(tmp_path: Path) -> None:
    net = import_onnx(_save(tmp_path, *_scales())).document.network("main")
    assert [n.params["factor"] for n in net.nodes() if n.spec.id == "Scale"] == [2.5, 0.25]
    net = import_onnx(_save(tmp_path, *_resize())).document.network("main")
    assert sorted((n.params["mode"], n.params["scale_factor"]) for n in net.nodes()
                  if n.spec.id == "Upsample") == [("bilinear", 1.5), ("nearest", 2.0)]
    result = import_onnx(_save(tmp_path, *_positions()))
    kinds = {n.id: n.params["kind"] for n in result.document.network("main").nodes()
             if n.spec.id == "PositionalEncoding"}
    assert sorted(kinds.values()) == ["learned", "sinusoidal"]  # the fixed table is recognised
    assert {key.split(".")[0] for key in result.weights} == {
        i for i, kind in kinds.items() if kind == "learned"}


def test_a_fixed_batch_in_the_file_becomes_any_batch(tmp_path: Path) -> None:
    nodes, _, weights, opset = _conv2d()
    fixed = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    path = _save(tmp_path, nodes, [fixed], weights, opset)
    result = import_onnx(path)
    _assert_same_outputs(path, result)
    assert [n for n in result.notes if "fixed batch of 1" in n]
    with torch.no_grad():
        assert _compiled(result)(torch.zeros(5, 3, 8, 8)).shape == (5, 3)


def test_an_output_layer_holding_the_embedding_table_shares_it(tmp_path: Path) -> None:
    table = _w(7, 4)
    nodes = [helper.make_node("Gather", ["table", "x"], ["e"]),
             helper.make_node("MatMul", ["e", "head"], ["out"])]
    weights = {"table": table, "head": np.ascontiguousarray(table.T)}
    path = _save(tmp_path, nodes, [_x(5, elem=TensorProto.INT64)], weights, 17)
    result = import_onnx(path)
    _assert_same_outputs(path, result)
    net = result.document.network(result.network)
    embed = next(n for n in net.nodes() if n.spec.id == "Embedding")
    head = next(n for n in net.nodes() if n.spec.id == "Linear")
    assert head.params["tie_weight_to"] == embed.id
    assert f"{head.id}.weight" not in result.weights  # one tensor, stored with the Embedding
    assert [n for n in result.notes if "shares the weight" in n]


def test_labels_come_from_node_paths_and_positions_run_left_to_right(tmp_path: Path) -> None:
    result = import_onnx(_save(tmp_path, *_branches()))
    assert [n for n in result.notes if n.startswith("Dropout")]  # left out, and said so
    net = result.document.network("main")
    labels = {n.label: n for n in net.nodes()}
    assert {"left", "left_2", "right", "right_2"} <= set(labels)
    assert labels["left"].spec.id == "Linear" and labels["right_2"].spec.id == "LeakyReLU"
    for edge in net.edges():
        assert net.node(edge.source).pos[0] < net.node(edge.target).pos[0]
    assert labels["left"].pos[1] != labels["right"].pos[1]  # branches side by side


# -- refusals --------------------------------------------------------------------------
def test_unsupported_ops_are_named_one_line_each(tmp_path: Path) -> None:
    nodes = [helper.make_node("Einsum", ["x", "x"], ["e"], equation="bi,bi->bi",
                              name="Einsum_3"),
             helper.make_node("Cos", ["e"], ["c"], name="Cos_1"),
             helper.make_node("Relu", ["c"], ["out"])]
    path = _save(tmp_path, nodes, [_x(3)], {}, 17)
    with pytest.raises(ModelImportError) as info:
        import_onnx(path)
    message = str(info.value)
    assert str(path) in message and "2 node(s)" in message
    assert "node 'Einsum_3': op Einsum has no layer in the catalog" in message
    assert "node 'Cos_1': op Cos has no layer in the catalog" in message


def test_a_supported_op_with_settings_the_catalog_lacks_is_named(tmp_path: Path) -> None:
    nodes = [helper.make_node("Conv", ["x", "w"], ["out"], group=2, name="grouped")]
    path = _save(tmp_path, nodes, [_x(4, 6, 6)], {"w": _w(4, 2, 3, 3)}, 17)
    with pytest.raises(ModelImportError, match="node 'grouped': Conv with groups"):
        import_onnx(path)


def test_arithmetic_the_catalog_cannot_express_is_refused(tmp_path: Path) -> None:
    nodes = [helper.make_node("Div", ["x", "y"], ["ratio"], name="ratio"),
             helper.make_node("Add", ["ratio", "shift"], ["out"], name="shifted")]
    path = _save(tmp_path, nodes, [_x(3), _x(3, name="y")], {"shift": _w(3)}, 17)
    with pytest.raises(ModelImportError) as info:
        import_onnx(path)
    assert "node 'ratio': Div of two computed tensors has no layer" in str(info.value)
    assert "node 'shifted': Add with a constant has no layer" in str(info.value)


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage\xff" * 50, b"not an onnx file"])
def test_garbage_files_are_refused_naming_the_file(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelImportError, match=r"broken\.onnx"):
        import_onnx(path)


def test_truncated_missing_and_oversized_files_are_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _save(tmp_path, *_branches())
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ModelImportError, match=r"cut\.onnx"):
        import_onnx(cut)
    with pytest.raises(ModelImportError, match=r"missing\.onnx"):
        import_onnx(tmp_path / "missing.onnx")
    monkeypatch.setattr(onnx_import, "MAX_FILE_BYTES", 100)
    with pytest.raises(ModelImportError, match=r"model\.onnx is .* over 0 MiB"):
        import_onnx(path)


def test_weights_kept_outside_the_file_are_refused(tmp_path: Path) -> None:
    model = onnx.load(str(_save(tmp_path, *_conv1d())))
    onnx.save(model, str(tmp_path / "split.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="split.data", size_threshold=0)
    with pytest.raises(ModelImportError, match="weights in separate files"):
        import_onnx(tmp_path / "split.onnx")


def test_models_layerloom_cannot_hold_are_refused(tmp_path: Path) -> None:
    two = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Tanh", ["x"], ["b"])]
    graph = helper.make_graph(two, "two", [_x(3)], [
        helper.make_tensor_value_info(v, TensorProto.FLOAT, ["batch", 3]) for v in ("a", "b")])
    onnx.save(helper.make_model(graph), str(tmp_path / "two.onnx"))
    with pytest.raises(ModelImportError, match="has 2 outputs"):
        import_onnx(tmp_path / "two.onnx")
    free = [helper.make_node("Relu", ["x"], ["out"])]
    path = _save(tmp_path, free, [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, ["batch", "time", 3])], {}, 17, name="free")
    with pytest.raises(ModelImportError, match=r"input 'x' has shape .*fixed sizes"):
        import_onnx(path)
