"""Importing a language model's ONNX export, whose sequence length is free (any length
up to the context the export record names): the Input reads that context, and the
imported network gives onnxruntime's outputs at shorter lengths too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from models import one_thread

from graph.builder import NetworkBuilder
from graph.compile import compile_network, load_state_dict_by_id
from graph.document import Document
from graph.importers import import_onnx
from graph.training import TrainingSpec
from runtime.export import export_module

CONTEXT, VOCAB = 8, 7


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    with one_thread():
        yield


def _language_model(recurrent: bool) -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[CONTEXT], kind="tokens", vocab_size=VOCAB)
    h = b.add("Embedding", x, embedding_dim=8)
    if recurrent:
        h = b.add("LSTM", h, hidden_size=8, output="sequence")
    else:
        h = b.add("PositionalEncoding", h, kind="learned")
        for _ in range(2):  # the exporter shares the size computations of the two blocks
            h = b.add("TransformerEncoderLayer", h, nhead=2, dim_feedforward=16, dropout=0.0,
                      causal=True)
    b.add("Output", b.add("Linear", h, out_features=VOCAB))
    doc.set_training(TrainingSpec.model_validate({"task": "language_model"}))
    return doc


@pytest.mark.parametrize("recurrent", [False, True], ids=["causal_transformer", "lstm"])
def test_free_length_export_imports_back_with_the_same_outputs(recurrent: bool,
                                                               tmp_path: Path) -> None:
    doc = _language_model(recurrent)
    torch.manual_seed(0)
    path = tmp_path / "lm.onnx"
    export_module(doc, "main", compile_network(doc).eval(), None, "onnx", path)
    result = import_onnx(path)
    net = result.document.network(result.network)
    (token_input,) = [n for n in net.nodes() if n.spec.id == "Input"]
    assert list(token_input.params["shape"]) == [CONTEXT]
    assert any("sequence length" in note for note in result.notes), result.notes
    module = compile_network(result.document, result.network).eval()
    load_state_dict_by_id(module, result.weights)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for length in (3, CONTEXT):
        ids = rng.integers(0, VOCAB, (2, length))
        expected = session.run(None, {session.get_inputs()[0].name: ids})[0]
        with torch.no_grad():
            got = module(torch.from_numpy(ids)).numpy()
        assert got.shape == expected.shape == (2, length, VOCAB)
        assert np.abs(got - expected).max() <= 1e-5
