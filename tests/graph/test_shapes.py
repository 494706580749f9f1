"""Live shape inference: exact shapes, clear errors, and only downstream work on edits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from graph.builder import NetworkBuilder
from graph.catalog import TensorSpec
from graph.commands import Connect, Disconnect, History, RemoveNodes, SetParam
from graph.document import Document
from graph.fileformat import load_graph
from graph.shapes import ShapeInference


def _chain(length: int) -> tuple[Document, list[str]]:
    doc = Document.new()
    b = NetworkBuilder(doc)
    ids = [b.add("Input", shape=[8])]
    for i in range(length):
        params = {"out_features": 8} if i % 2 == 0 else {}
        ids.append(b.add("Linear" if i % 2 == 0 else "ReLU", ids[-1], **params))
    ids.append(b.add("Output", ids[-1]))
    return doc, ids


def test_cnn_shapes_with_symbolic_batch() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[1, 8, 8])
    c = b.add("Conv2d", x, out_channels=16, kernel_size=3, padding=1)
    p = b.add("MaxPool2d", c)
    f = b.add("Flatten", p)
    y = b.add("Linear", f, out_features=10)
    b.add("Output", y)
    shapes = ShapeInference(doc)
    shapes.update()
    assert shapes.shape("main", c).out == TensorSpec((16, 8, 8))
    assert shapes.shape("main", p).out.describe() == "N×16×4×4"
    assert shapes.shape("main", f).out == TensorSpec((256,))
    assert shapes.shape("main", y).params == 256 * 10 + 10
    assert shapes.totals("main") == (160 + 2570, 160 + 2570)


def test_edit_reinfers_only_downstream_and_stops_when_unchanged() -> None:
    doc, ids = _chain(40)
    shapes = ShapeInference(doc)
    shapes.update()
    assert shapes.reinferred == len(ids)
    history = History(doc)
    history.push(SetParam("main", ids[-3], "out_features", 8))  # same value: no change
    shapes.update()
    assert shapes.reinferred == 1
    history.push(SetParam("main", ids[39], "out_features", 5))  # near the end
    changed = shapes.update()
    assert shapes.reinferred == 3  # the Linear, the ReLU after it, and the Output
    assert changed["main"] == {ids[39], ids[40], ids[41]}
    history.push(SetParam("main", ids[1], "out_features", 8 * 2))  # at the root
    shapes.update()
    # The next Linear absorbs the new width: Linear, ReLU, next Linear re-inferred, no more.
    assert shapes.reinferred == 3


def test_errors_name_the_problem_and_downstream_stays_unknown() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[1, 4, 4])
    c = b.add("Conv2d", x, kernel_size=7, padding=0)
    r = b.add("ReLU", c)
    shapes = ShapeInference(doc)
    shapes.update()
    assert "kernel 7" in shapes.shape("main", c).error and "4×4" in shapes.shape("main", c).error
    assert shapes.shape("main", r).out is None and shapes.shape("main", r).error is None
    lin = b.add("Linear", b.add("Input", shape=[4]))
    flat_in = b.add("Conv2d", lin)
    shapes.update()
    assert "C×H×W" in shapes.shape("main", flat_in).error


def test_wiring_changes_update_shapes() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    a = b.add("Input", shape=[6])
    c = b.add("Input", shape=[4])
    cat = b.add("Concat", a, c, dim=0)
    shapes = ShapeInference(doc)
    shapes.update()
    assert shapes.shape("main", cat).out == TensorSpec((10,))
    history = History(doc)
    history.push(Disconnect("main", c, cat, "in1"))
    shapes.update()
    assert "at least 2 inputs" in shapes.shape("main", cat).error
    history.push(Connect("main", a, cat, "in1"))
    shapes.update()
    assert shapes.shape("main", cat).out == TensorSpec((12,))
    history.push(RemoveNodes("main", [cat]))
    shapes.update()
    assert cat not in shapes.results["main"]


def test_out_of_bounds_parameter_is_an_error_not_a_crash() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    lin = b.add("Linear", b.add("Input", shape=[3]), out_features=0)
    shapes = ShapeInference(doc)
    shapes.update()
    assert shapes.shape("main", lin).error == "parameter 'out_features' must be at least 1, got 0"


def test_tokens_flow_into_embedding_only() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    tokens = b.add("Input", shape=[5], kind="tokens", vocab_size=11)
    emb = b.add("Embedding", tokens, embedding_dim=8)
    lin = b.add("Linear", tokens)
    shapes = ShapeInference(doc)
    shapes.update()
    assert shapes.shape("main", emb).out == TensorSpec((5, 8))
    assert shapes.shape("main", emb).params == 11 * 8
    assert "Embedding" in shapes.shape("main", lin).error


def test_bidirectional_last_step_concatenates_both_directions() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    seq = b.add("Input", shape=[7, 3])
    lstm = b.add("LSTM", seq, hidden_size=5, bidirectional=True, num_layers=2, output="last")
    gru = b.add("GRU", seq, hidden_size=5, output="sequence")
    shapes = ShapeInference(doc)
    shapes.update()
    assert shapes.shape("main", lstm).out == TensorSpec((10,))
    assert shapes.shape("main", gru).out == TensorSpec((7, 5))


EXAMPLES = sorted((Path(__file__).parents[2] / "resources" / "examples").glob("*.loom"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_rules_alone_give_torch_shapes_and_allow_torch_completes_them(path: Path) -> None:
    doc = load_graph(path)
    exact, early = ShapeInference(doc), ShapeInference(doc, use_torch=False)
    exact.update()
    early.update()
    assert not early.complete
    for name, net in doc.networks.items():
        for node_id in net.graph:
            want, got = exact.shape(name, node_id), early.shape(name, node_id)
            assert (got.out, got.error) == (want.out, want.error), node_id
            assert got.params == 0
            assert got.pending == (net.node(node_id).spec.role == "layer"), node_id
    early.allow_torch()
    changed = early.update()
    assert early.complete
    assert early.results == exact.results
    for name, results in exact.results.items():
        weighted = {n for n, s in results.items() if s.params}
        assert weighted and weighted <= changed[name]


def test_a_pending_edit_stays_pending_and_unknown_layers_say_so() -> None:
    doc, ids = _chain(4)
    shapes = ShapeInference(doc, use_torch=False)
    shapes.update()
    History(doc).push(SetParam("main", ids[1], "out_features", 3))
    shapes.update()
    assert shapes.shape("main", ids[2]).out == TensorSpec((3,))
    assert shapes.shape("main", ids[2]).pending
    History(doc).push(SetParam("main", ids[1], "out_features", 0))  # out of bounds
    shapes.update()
    first = shapes.shape("main", ids[1])
    assert first.out is None and "out_features" in (first.error or "") and not first.pending


def test_shapes_without_torch_never_import_it(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from graph.fileformat import load_graph\n"
        "from graph.shapes import ShapeInference\n"
        f"doc = load_graph({str(EXAMPLES[0])!r})\n"
        "shapes = ShapeInference(doc, use_torch=False)\n"
        "shapes.update()\n"
        "assert all(s.out is not None for s in shapes.results['main'].values())\n"
        "print('torch' in sys.modules)\n"
    )
    root = Path(__file__).parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
