"""Exports: ONNX (checked by onnxruntime), torch.export programs, Layerloom weights and
standalone Python, each reproducing the network and carrying its preprocessing."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path

import onnx
import onnxruntime
import pytest
import torch
from helpers import digits_cnn, moons_mlp
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from graph.builder import NetworkBuilder
from graph.compile import compile_network
from graph.document import Document
from graph.fileformat import load_graph
from runtime.checkpoint import load_weights, read_weights
from runtime.data.preprocess import Preprocessing
from runtime.export import (
    ExportError,
    export_model,
    export_module,
    load_trained,
    onnx_export,
    read_pt2_metadata,
)
from runtime.trainer import RunOptions, Trainer


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Tiny tensors: more threads only add hand-off cost (and a busy machine's waits)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# -- documents -----------------------------------------------------------------------
def lstm_doc() -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("LSTM", b.add("Input", shape=[8, 8], label="series"), hidden_size=12, label="lstm")
    b.add("Output", b.add("Linear", h, out_features=3, label="head"), label="logits")
    return doc


def transformer_doc() -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[6], kind="tokens", vocab_size=20, label="tokens")
    h = b.chain(x, ("Embedding", {"embedding_dim": 16}), ("PositionalEncoding", {}),
                ("TransformerEncoderLayer", {"nhead": 4, "dim_feedforward": 32}),
                ("SequencePool", {}), ("Linear", {"out_features": 2}))
    b.add("Output", h, label="logits")
    return doc


def cross_attention_doc() -> Document:
    """Two Inputs: a query sequence attends to a context of another length and width."""
    doc = Document.new()
    b = NetworkBuilder(doc)
    query = b.add("Input", shape=[5, 8], label="query")
    context = b.add("Input", shape=[7, 6], label="context")
    h = b.add("MultiheadAttention", query, context, num_heads=2, label="attend")
    h = b.add("Linear", b.add("SequencePool", h), out_features=3, label="head")
    b.add("Output", h, label="scores")
    return doc


def gan_doc() -> Document:
    doc = Document.new("generator")
    g = NetworkBuilder(doc, "generator")
    g.add("Output", g.add("Linear", g.add("Noise", size=4), out_features=2))
    d = NetworkBuilder(doc, "discriminator")
    d.add("Output", d.add("Linear", d.add("Input", shape=[2]), out_features=1))
    return doc


# -- trained runs (shared: training is not what these tests are about) ----------------
Trained = tuple[Document, Path]


def _train(doc: Document, out_dir: Path) -> Trained:
    Trainer(doc, RunOptions(epochs=1, out_dir=out_dir, max_steps_per_epoch=3,
                            activations=False)).run()
    return doc, out_dir / "model.safetensors"


@pytest.fixture(scope="module")
def trained_mlp(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    return _train(moons_mlp(), tmp_path_factory.mktemp("mlp_run"))


@pytest.fixture(scope="module")
def trained_cnn(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    return _train(digits_cnn(), tmp_path_factory.mktemp("cnn_run"))


def _record(weights: Path) -> dict:
    record = read_weights(weights)[1].preprocessing
    assert record is not None
    return record.to_dict()


def _inputs(module: nn.Module, doc: Document, batch: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Random inputs for a compiled module: floats, or token ids below the vocabulary."""
    gen = torch.Generator().manual_seed(seed)
    net = doc.network(module.network)
    xs = []
    for node_id in module.input_ids:
        node = net.node(node_id)
        params = node.params
        shape = (batch, params["size"]) if node.spec.id == "Noise" else (batch, *params["shape"])
        if params.get("kind") == "tokens":
            xs.append(torch.randint(0, params["vocab_size"], shape, generator=gen))
        else:
            xs.append(torch.randn(shape, generator=gen))
    return tuple(xs)


def _reference(module: nn.Module, xs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    module.eval()
    with torch.no_grad():
        return module(*xs)


# -- ONNX ------------------------------------------------------------------------------
def _trained_case(fixture: str) -> Callable[[pytest.FixtureRequest, Path], tuple]:
    def make(request: pytest.FixtureRequest, out: Path) -> tuple:
        doc, weights = request.getfixturevalue(fixture)
        report = export_model(doc, weights, "onnx", out)
        module, _ = load_trained(doc, "main", weights)
        return doc, module, report, _record(weights)
    return make


def _random_case(make_doc: Callable[[], Document], network: str = "main") -> Callable[..., tuple]:
    def make(request: pytest.FixtureRequest, out: Path) -> tuple:
        doc = make_doc()
        module = compile_network(doc, network)
        return doc, module, export_module(doc, network, module, None, "onnx", out), None
    return make


ONNX_CASES = {
    "mlp": _trained_case("trained_mlp"), "cnn": _trained_case("trained_cnn"),
    "lstm": _random_case(lstm_doc), "transformer": _random_case(transformer_doc),
    "cross_attention": _random_case(cross_attention_doc),
    "gan_generator": _random_case(gan_doc, "generator"),  # a Noise input
}


@pytest.mark.parametrize("name", list(ONNX_CASES))
def test_onnx_export_agrees_with_torch_under_onnxruntime(
        name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.onnx"
    doc, module, report, record = ONNX_CASES[name](request, out)
    assert report.format == "onnx" and report.path == out and out.exists()
    assert report.exporter in ("dynamo", "torchscript")
    if report.exporter == "torchscript":  # the fallback must say why
        assert any("dynamo exporter" in note for note in report.notes), report.notes
    assert sorted(report.checks) == [1, 7]
    assert all(0 <= diff <= 1e-4 for diff in report.checks.values()), report.checks
    # Check the written file ourselves at a batch size the export did not try.
    model = onnx.load(str(out))
    names = [p.target for p in module.graph.nodes if p.op == "placeholder"]
    assert [i.name for i in model.graph.input] == names
    for graph_input in model.graph.input:
        assert graph_input.type.tensor_type.shape.dim[0].dim_param  # symbolic batch
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    xs = _inputs(module, doc, batch=3, seed=5)
    got = session.run(None, {n: x.numpy() for n, x in zip(names, xs, strict=True)})[0]
    expected = _reference(module, xs)
    assert got.shape == tuple(expected.shape)
    assert float((torch.from_numpy(got) - expected).abs().max()) <= 1e-4
    props = {p.key: p.value for p in model.metadata_props}
    info = json.loads(props["layerloom"])
    assert info["network"] == module.network and info["exporter"] == report.exporter
    assert [i["name"] for i in info["inputs"]] == names
    assert json.loads(props["preprocessing"]) == record
    if record is not None:
        assert json.loads(props["class_names"]) == record["class_names"]


def test_cnn_onnx_carries_the_fitted_normalisation(trained_cnn: Trained, tmp_path: Path) -> None:
    doc, weights = trained_cnn
    export_model(doc, weights, "onnx", tmp_path / "cnn.onnx")
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "cnn.onnx")).metadata_props}
    record = Preprocessing.from_dict(json.loads(props["preprocessing"]))
    assert record.sample_shape == (1, 8, 8)
    assert record.class_names is not None and len(record.class_names) == 10
    assert record.offset.shape == (1, 1, 1) and float(record.scale.min()) > 0


def _wrong_exporter(real: Callable) -> Callable:
    """An exporter whose model has different weights: the check must reject it."""
    def export(module: nn.Module, signature: object) -> onnx.ModelProto:
        broken = compile_network(lstm_doc()).eval()
        with torch.no_grad():
            for p in broken.parameters():
                p.add_(0.5)
        return real(broken, signature)
    return export


def test_onnx_falls_back_to_torchscript_when_dynamo_fails(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def failing(module: nn.Module, signature: object) -> onnx.ModelProto:
        raise RuntimeError("unsupported operator aten::lstm (simulated)")

    monkeypatch.setitem(onnx_export.EXPORTERS, "dynamo", failing)
    doc = lstm_doc()
    report = export_module(doc, "main", compile_network(doc), None, "onnx", tmp_path / "a.onnx")
    assert report.exporter == "torchscript"
    assert "dynamo exporter failed" in report.notes[0] and "aten::lstm" in report.notes[0]
    assert all(diff <= 1e-4 for diff in report.checks.values())
    assert json.loads({p.key: p.value for p in onnx.load(str(report.path)).metadata_props}
                      ["layerloom"])["exporter"] == "torchscript"


def test_onnx_check_rejects_a_model_that_disagrees(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = onnx_export.EXPORTERS["torchscript"]
    monkeypatch.setitem(onnx_export.EXPORTERS, "dynamo", _wrong_exporter(real))
    doc = lstm_doc()
    module = compile_network(doc)
    report = export_module(doc, "main", module, None, "onnx", tmp_path / "a.onnx")
    assert report.exporter == "torchscript"
    assert "dynamo exporter's model was rejected" in report.notes[0]
    monkeypatch.setitem(onnx_export.EXPORTERS, "torchscript", _wrong_exporter(real))
    with pytest.raises(ExportError) as caught:
        export_module(doc, "main", module, None, "onnx", tmp_path / "b.onnx")
    message = str(caught.value)
    assert "dynamo" in message and "torchscript" in message
    assert message.count("at batch 1") == 2 and message.count("at batch 7") == 2
    assert not (tmp_path / "b.onnx").exists()


# -- torch.export program -------------------------------------------------------------
def test_pt2_round_trip_runs_like_the_module(trained_mlp: Trained, tmp_path: Path) -> None:
    doc, weights = trained_mlp
    report = export_model(doc, weights, "pt2", tmp_path / "mlp.pt2")
    assert report.exporter == "torch.export" and sorted(report.checks) == [1, 7]
    module, _ = load_trained(doc, "main", weights)
    program = torch.export.load(str(tmp_path / "mlp.pt2")).module()
    for batch in (1, 5):  # the batch dimension stayed dynamic
        xs = _inputs(module, doc, batch, seed=batch)
        assert torch.allclose(program(*xs), _reference(module, xs), atol=1e-6, rtol=0)
    assert read_pt2_metadata(tmp_path / "mlp.pt2")["preprocessing"] == _record(weights)


def test_pt2_takes_token_ids(tmp_path: Path) -> None:
    doc = transformer_doc()
    module = compile_network(doc)
    export_module(doc, "main", module, None, "pt2", tmp_path / "t.pt2")
    program = torch.export.load(str(tmp_path / "t.pt2")).module()
    xs = _inputs(module, doc, batch=4, seed=2)
    assert xs[0].dtype == torch.long
    assert torch.allclose(program(*xs), _reference(module, xs), atol=1e-5, rtol=0)
    assert read_pt2_metadata(tmp_path / "t.pt2")["inputs"][0]["vocab_size"] == 20


# -- Layerloom weights ------------------------------------------------------------------
def test_safetensors_export_reloads_into_a_fresh_module(
        trained_mlp: Trained, tmp_path: Path) -> None:
    doc, weights = trained_mlp
    out = tmp_path / "export" / "mlp.safetensors"
    report = export_model(doc, weights, "safetensors", out)
    assert report.paths == [out, out.with_suffix(".loom")]
    fresh = compile_network(load_graph(out.with_suffix(".loom")))
    metadata = load_weights(out, {"main": fresh})
    assert metadata.preprocessing is not None
    assert metadata.preprocessing.to_dict() == _record(weights)
    with safe_open(str(out), framework="pt") as f:
        keys = list(f.keys())
    assert keys and all(key.startswith("main.n") for key in keys)  # <network>.<node id>.…
    module, _ = load_trained(doc, "main", weights)
    xs = _inputs(module, doc, batch=9, seed=1)
    assert torch.equal(_reference(fresh, xs), _reference(module, xs))


def test_checkpoints_and_exported_weights_export_again(
        trained_mlp: Trained, tmp_path: Path) -> None:
    doc, weights = trained_mlp
    expected = read_weights(weights)[0]["main"]
    from_checkpoint = export_model(doc, weights.with_name("checkpoint.pt"), "safetensors",
                                   tmp_path / "a.safetensors")
    assert not any("preprocessing" in note for note in from_checkpoint.notes)  # it came along
    export_model(doc, weights, "python", tmp_path / "py" / "net.py")
    again = export_model(doc, tmp_path / "py" / "main.safetensors", "safetensors",
                         tmp_path / "b.safetensors")
    for report in (from_checkpoint, again):
        per_network, metadata = read_weights(report.path)
        assert set(per_network["main"]) == set(expected)
        assert all(torch.equal(per_network["main"][k], v) for k, v in expected.items())
        assert metadata.preprocessing is not None
        assert metadata.preprocessing.to_dict() == _record(weights)


# -- standalone Python ------------------------------------------------------------------
FRESH = """
import json, os, sys
sys.path.insert(0, os.getcwd())
import importlib.util
assert importlib.util.find_spec("graph") is None and importlib.util.find_spec("runtime") is None
import torch
from safetensors.torch import load_file
import model
m = model.load()
case = load_file("case.safetensors")
with torch.no_grad():
    out = m(model.preprocess(case["raw"]))
print(json.dumps({"diff": float((out - case["expected"]).abs().max()),
                  "classes": model.CLASS_NAMES, "training": m.training}))
"""


def test_python_export_runs_without_layerloom(trained_mlp: Trained, tmp_path: Path) -> None:
    doc, weights = trained_mlp
    report = export_model(doc, weights, "python", tmp_path)
    assert report.paths == [tmp_path / "model.py", tmp_path / "main.safetensors"]
    module, record = load_trained(doc, "main", weights)
    raw = torch.randn(6, 2) * 3 + 1
    expected = _reference(module, (Preprocessing.from_dict(record).apply(raw),))
    save_file({"raw": raw, "expected": expected}, tmp_path / "case.safetensors")
    site_packages = sysconfig.get_paths()["purelib"]
    script = f"import sys\nsys.path.append({site_packages!r})\n" + FRESH
    result = subprocess.run([sys.executable, "-I", "-S", "-c", script], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["diff"] <= 1e-6
    assert answer["classes"] == record["class_names"] and answer["training"] is False


# -- errors ------------------------------------------------------------------------------
def test_unknown_network_lists_the_networks(trained_mlp: Trained, tmp_path: Path) -> None:
    doc, weights = trained_mlp
    with pytest.raises(ExportError, match=r"no network 'decoder'.*main"):
        export_model(doc, weights, "onnx", tmp_path / "x.onnx", network="decoder")


def test_gan_without_a_network_says_which_to_pick(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as caught:
        export_model(gan_doc(), tmp_path / "model.safetensors", "onnx", tmp_path / "x.onnx")
    message = str(caught.value)
    assert "generator" in message and "discriminator" in message and "--network" in message


def test_weights_of_another_graph_are_refused(trained_mlp: Trained, tmp_path: Path) -> None:
    _, weights = trained_mlp
    with pytest.raises(ExportError, match=r"do not fit network 'main'.*another graph"):
        export_model(digits_cnn(), weights, "safetensors", tmp_path / "x.safetensors")
    wider = moons_mlp()
    fc1 = wider.network("main").by_label("fc1")
    wider.set_param("main", fc1.id, "out_features", 8)
    with pytest.raises(ExportError, match=r"do not fit network 'main': Linear 'fc1' has weight "
                       r"of size 8×2 but the saved weights hold 16×2"):
        export_model(wider, weights, "onnx", tmp_path / "x.onnx")
    assert not list(tmp_path.iterdir())


def test_other_user_errors_are_export_errors(trained_mlp: Trained, tmp_path: Path) -> None:
    doc, weights = trained_mlp
    assert issubclass(ExportError, ValueError)
    with pytest.raises(ExportError, match=r"unknown export format 'tflite'.*onnx"):
        export_model(doc, weights, "tflite", tmp_path / "x")
    with pytest.raises(ExportError, match="does not exist"):
        export_model(doc, tmp_path / "missing.safetensors", "onnx", tmp_path / "x.onnx")
    other = compile_network(lstm_doc())
    with pytest.raises(ExportError, match="not compiled from network 'main'"):
        export_module(doc, "main", other, None, "pt2", tmp_path / "x.pt2")
