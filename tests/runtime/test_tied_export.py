"""A Linear tied to an Embedding stays one tensor in a run's weights file and in every
export that keeps weights as tensors (safetensors, .pt2, Python code)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from safetensors import safe_open

from graph.builder import NetworkBuilder
from graph.compile import compile_network
from graph.document import Document
from runtime.checkpoint import load_weights, save_weights
from runtime.export import export_model

VOCAB = 11


def _tied() -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[6], kind="tokens", vocab_size=VOCAB, label="tokens")
    e = b.add("Embedding", x, embedding_dim=8, label="embed")
    h = b.add("TransformerEncoderLayer", e, nhead=2, dim_feedforward=16, causal=True,
              label="block")
    b.add("Output", b.add("Linear", h, out_features=VOCAB, tie_weight_to=e, label="head"),
          label="logits")
    return doc


def _keys(path: Path) -> list[str]:
    with safe_open(str(path), framework="pt") as f:
        return sorted(f.keys())


def test_tied_weights_are_one_tensor_in_weights_files_and_exports(tmp_path: Path) -> None:
    doc = _tied()
    embed, head = (doc.network("main").by_label(n) for n in ("embed", "head"))
    assert embed is not None and head is not None
    torch.manual_seed(0)
    module = compile_network(doc).eval()
    weights = tmp_path / "model.safetensors"
    save_weights(weights, {"main": module}, None)  # safetensors refuses shared tensors
    assert f"main.{embed.id}.weight" in _keys(weights)
    assert f"main.{head.id}.weight" not in _keys(weights)
    torch.manual_seed(1)
    loaded = compile_network(doc).eval()
    load_weights(weights, {"main": loaded})
    assert loaded.head.weight is loaded.embed.weight
    assert torch.equal(loaded.embed.weight, module.embed.weight)
    x = torch.randint(0, VOCAB, (2, 6))
    with torch.no_grad():
        expected = module(x)

    export_model(doc, weights, "safetensors", tmp_path / "out.safetensors")
    assert f"main.{head.id}.weight" not in _keys(tmp_path / "out.safetensors")

    export_model(doc, weights, "pt2", tmp_path / "model.pt2")
    program = torch.export.load(str(tmp_path / "model.pt2"))
    state = program.state_dict
    assert state["head.weight"].data_ptr() == state["embed.weight"].data_ptr()
    with torch.no_grad():
        torch.testing.assert_close(program.module()(x), expected, rtol=0, atol=1e-5)

    export_model(doc, weights, "python", tmp_path / "code")
    spec = importlib.util.spec_from_file_location("tied_export", tmp_path / "code" / "model.py")
    assert spec is not None and spec.loader is not None
    code = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(code)
    model = code.load()
    assert model.head.weight is model.embed.weight
    with torch.no_grad():
        assert torch.equal(model(x), expected)
