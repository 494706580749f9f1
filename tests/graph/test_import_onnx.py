"""Importing ONNX files with graph.importers.import_onnx.

Every gallery network, exported by Layerloom itself, must import back as a network
that gives onnxruntime's outputs with the imported weights (and export again to an
ONNX file that does too). Small hand-built models cover the ops the gallery lacks;
unsupported ops and broken files are refused with messages naming node and file.

Exporting takes 1-8 s a network, so the default run takes three networks (``QUICK``)
that use the exporter's multi-op patterns; ``pytest -m slow`` runs all seventeen.
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
from onnx import TensorProto, helper
from onnx_fixtures import (
    HAND_BUILT,
    branches,
    conv1d,
    conv2d,
    data,
    positions,
    rand,
    resize,
    save,
    scales,
    tokens,
)
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
    # the sizes the export again reads (a language model's free length is now the Input's)
    session = onnxruntime.InferenceSession(str(again), providers=["CPUExecutionProvider"])
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
    path = save(tmp_path, *branches())
    result = import_onnx(path)
    save_graph(result.document, tmp_path / "net.loom")
    reloaded = load_graph(tmp_path / "net.loom")
    _assert_same_outputs(path, ImportedModel(reloaded, result.network, result.weights))


@pytest.mark.parametrize("name", list(HAND_BUILT))
def test_hand_built_model_imports_with_the_same_outputs(name: str, tmp_path: Path) -> None:
    build, types = HAND_BUILT[name]
    path = save(tmp_path, *build())
    result = import_onnx(path)
    net = result.document.network(result.network)
    layers = sorted((n for n in net.nodes() if n.spec.role == "layer"),
                    key=lambda n: natural_key(n.id))  # in the order they were added
    assert [n.spec.id for n in layers] == types
    _assert_same_outputs(path, result)


def test_hand_built_models_keep_their_settings(tmp_path: Path) -> None:
    net = import_onnx(save(tmp_path, *conv2d())).document.network("main")
    params = {n.spec.id: n.params for n in net.nodes()}
    assert params["Conv2d"]["stride"] == 2 and params["Conv2d"]["bias"] is False
    assert params["BatchNorm2d"]["eps"] == pytest.approx(1e-3)
    net = import_onnx(save(tmp_path, *tokens())).document.network("main")
    token_input = next(n for n in net.nodes() if n.spec.id == "Input")
    assert token_input.params["kind"] == "tokens" and token_input.params["vocab_size"] == 7
    assert token_input.params["shape"] == (5,)


def test_settings_are_read_from_the_ops(tmp_path: Path) -> None:
    net = import_onnx(save(tmp_path, *scales())).document.network("main")
    assert [n.params["factor"] for n in net.nodes() if n.spec.id == "Scale"] == [2.5, 0.25]
    net = import_onnx(save(tmp_path, *resize())).document.network("main")
    assert sorted((n.params["mode"], n.params["scale_factor"]) for n in net.nodes()
                  if n.spec.id == "Upsample") == [("bilinear", 1.5), ("nearest", 2.0)]
    result = import_onnx(save(tmp_path, *positions()))
    kinds = {n.id: n.params["kind"] for n in result.document.network("main").nodes()
             if n.spec.id == "PositionalEncoding"}
    assert sorted(kinds.values()) == ["learned", "sinusoidal"]  # the fixed table is recognised
    assert {key.split(".")[0] for key in result.weights} == {
        i for i, kind in kinds.items() if kind == "learned"}


def test_a_fixed_batch_in_the_file_becomes_any_batch(tmp_path: Path) -> None:
    nodes, _, weights, opset = conv2d()
    fixed = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    path = save(tmp_path, nodes, [fixed], weights, opset)
    result = import_onnx(path)
    _assert_same_outputs(path, result)
    assert [n for n in result.notes if "fixed batch of 1" in n]
    with torch.no_grad():
        assert _compiled(result)(torch.zeros(5, 3, 8, 8)).shape == (5, 3)


def test_an_output_layer_holding_the_embedding_table_shares_it(tmp_path: Path) -> None:
    table = rand(7, 4)
    nodes = [helper.make_node("Gather", ["table", "x"], ["e"]),
             helper.make_node("MatMul", ["e", "head"], ["out"])]
    weights = {"table": table, "head": np.ascontiguousarray(table.T)}
    path = save(tmp_path, nodes, [data(5, elem=TensorProto.INT64)], weights, 17)
    result = import_onnx(path)
    _assert_same_outputs(path, result)
    net = result.document.network(result.network)
    embed = next(n for n in net.nodes() if n.spec.id == "Embedding")
    head = next(n for n in net.nodes() if n.spec.id == "Linear")
    assert head.params["tie_weight_to"] == embed.id
    assert f"{head.id}.weight" not in result.weights  # one tensor, stored with the Embedding
    assert [n for n in result.notes if "shares the weight" in n]


def test_labels_come_from_node_paths_and_positions_run_left_to_right(tmp_path: Path) -> None:
    result = import_onnx(save(tmp_path, *branches()))
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
    path = save(tmp_path, nodes, [data(3)], {}, 17)
    with pytest.raises(ModelImportError) as info:
        import_onnx(path)
    message = str(info.value)
    assert str(path) in message and "2 node(s)" in message
    assert "node 'Einsum_3': op Einsum has no layer in the catalog" in message
    assert "node 'Cos_1': op Cos has no layer in the catalog" in message


def test_a_supported_op_with_settings_the_catalog_lacks_is_named(tmp_path: Path) -> None:
    nodes = [helper.make_node("Conv", ["x", "w"], ["out"], group=2, name="grouped")]
    path = save(tmp_path, nodes, [data(4, 6, 6)], {"w": rand(4, 2, 3, 3)}, 17)
    with pytest.raises(ModelImportError, match="node 'grouped': Conv with groups"):
        import_onnx(path)


def test_arithmetic_the_catalog_cannot_express_is_refused(tmp_path: Path) -> None:
    nodes = [helper.make_node("Div", ["x", "y"], ["ratio"], name="ratio"),
             helper.make_node("Add", ["ratio", "shift"], ["out"], name="shifted")]
    path = save(tmp_path, nodes, [data(3), data(3, name="y")], {"shift": rand(3)}, 17)
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
    path = save(tmp_path, *branches())
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
    model = onnx.load(str(save(tmp_path, *conv1d())))
    onnx.save(model, str(tmp_path / "split.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="split.data", size_threshold=0)
    with pytest.raises(ModelImportError, match="weights in separate files"):
        import_onnx(tmp_path / "split.onnx")


def test_models_layerloom_cannot_hold_are_refused(tmp_path: Path) -> None:
    two = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Tanh", ["x"], ["b"])]
    graph = helper.make_graph(two, "two", [data(3)], [
        helper.make_tensor_value_info(v, TensorProto.FLOAT, ["batch", 3]) for v in ("a", "b")])
    onnx.save(helper.make_model(graph), str(tmp_path / "two.onnx"))
    with pytest.raises(ModelImportError, match="has 2 outputs"):
        import_onnx(tmp_path / "two.onnx")
    free = [helper.make_node("Relu", ["x"], ["out"])]
    path = save(tmp_path, free, [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, ["batch", "time", 3])], {}, 17, name="free")
    with pytest.raises(ModelImportError, match=r"input 'x' has shape .*fixed sizes"):
        import_onnx(path)
