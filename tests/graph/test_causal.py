"""Causal attention in the catalog: TransformerEncoderLayer and MultiheadAttention hide
later positions with a mask made per call, so shorter sequences work; files written
before TransformerEncoderLayer had "causal" load with it off."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from graph.builder import NetworkBuilder
from graph.codegen import generate_code
from graph.compile import compile_network
from graph.document import Document
from graph.fileformat import load_graph, save_graph

DATA = Path(__file__).resolve().parents[1] / "data"


def _network(layer: str, **params: object) -> Document:
    doc = Document.new("main")
    b = NetworkBuilder(doc, "main")
    x = b.add("Input", shape=[6, 8], label="x")
    b.add("Output", b.add(layer, x, label="block", **params), label="out")
    return doc


@pytest.mark.parametrize(("layer", "params"), [
    ("TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 16, "causal": True}),
    ("MultiheadAttention", {"num_heads": 2, "causal": True}),
])
def test_a_causal_layer_sees_no_later_position_at_any_length(
        layer: str, params: dict[str, object]) -> None:
    torch.manual_seed(0)
    module = compile_network(_network(layer, **params)).eval()
    x = torch.randn(2, 6, 8)
    with torch.no_grad():
        full = module(x)
        changed = x.clone()
        changed[:, 4:] = torch.randn(2, 2, 8)  # only the last two positions change
        assert torch.allclose(module(changed)[:, :4], full[:, :4], atol=1e-6)
        assert not torch.allclose(module(changed)[:, 4:], full[:, 4:], atol=1e-3)
        # a shorter context than the network was drawn for: the first steps agree
        assert torch.allclose(module(x[:, :3]), full[:, :3], atol=1e-6)


def test_the_generated_code_of_a_causal_layer_runs_alone(tmp_path: Path) -> None:
    torch.manual_seed(0)
    doc = _network("TransformerEncoderLayer", nhead=2, dim_feedforward=16, causal=True)
    module = compile_network(doc).eval()
    namespace: dict[str, object] = {}
    exec(compile(generate_code(doc, class_name="Causal"), "<generated>", "exec"), namespace)
    generated = namespace["Causal"]()  # type: ignore[operator]
    generated.load_state_dict(module.state_dict())
    x = torch.randn(2, 4, 8)
    with torch.no_grad():
        assert torch.allclose(generated.eval()(x), module(x), atol=1e-6)


def test_an_encoder_layer_of_version_1_loads_without_causal(tmp_path: Path) -> None:
    doc = load_graph(DATA / "transformer_encoder_layer_v1.loom")
    node = doc.network("main").by_label("encoder")
    assert node is not None and node.params["causal"] is False
    torch.manual_seed(0)
    module = compile_network(doc).eval()
    x = torch.randn(2, 6, 8)
    changed = x.clone()
    changed[:, 5] = torch.randn(2, 8)
    with torch.no_grad():  # the first position sees the last, as it always did
        assert not torch.allclose(module(changed)[:, 0], module(x)[:, 0], atol=1e-4)
    save_graph(doc, tmp_path / "again.loom")
    assert '"version": 2' in (tmp_path / "again.loom").read_text(encoding="utf-8")
