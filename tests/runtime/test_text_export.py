"""Exports of a causal language model: free sequence length, the tokenizer carried along."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from text_models import char_gpt, char_lstm, shakespeare_slice

from graph.compile import compile_network
from runtime.checkpoint import load_weights
from runtime.export import export_model, export_module, read_pt2_metadata
from runtime.trainer import RunOptions, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    folder = tmp_path_factory.mktemp("lm_export")
    doc = char_gpt(shakespeare_slice(folder), context=16, epochs=1)
    train(doc, RunOptions(out_dir=folder / "run", activations=False, max_steps_per_epoch=2))
    return doc, folder / "run" / "model.safetensors"


def _torch_model(doc, weights: Path) -> torch.nn.Module:
    model = compile_network(doc)
    load_weights(weights, {"main": model})
    return model.eval()


def test_onnx_runs_any_length_and_carries_the_tokenizer(trained, tmp_path: Path) -> None:
    import onnx
    import onnxruntime

    doc, weights = trained
    report = export_model(doc, weights, "onnx", tmp_path / "lm.onnx")
    assert report.max_diff <= 1e-4 and "checked at 1 and 16" in report.describe()
    model = onnx.load(str(tmp_path / "lm.onnx"))
    record = json.loads({p.key: p.value for p in model.metadata_props}["layerloom"])
    assert record["sequence"] == {"axis": 1, "max_length": 16}
    characters = record["tokenizer"]["characters"]
    session = onnxruntime.InferenceSession(str(tmp_path / "lm.onnx"),
                                           providers=["CPUExecutionProvider"])
    reference = _torch_model(doc, weights)
    for length in (5, 11):  # two lengths besides the export's own checks
        ids = torch.tensor([[characters.index(c) for c in "First Citizen:"[:length]]])
        got = session.run(None, {session.get_inputs()[0].name: ids.numpy()})[0]
        with torch.no_grad():
            assert np.abs(got - reference(ids).numpy()).max() < 1e-4
        assert got.shape == (1, length, 64)


def test_pt2_runs_a_shorter_sequence(trained, tmp_path: Path) -> None:
    doc, weights = trained
    export_model(doc, weights, "pt2", tmp_path / "lm.pt2")
    assert read_pt2_metadata(tmp_path / "lm.pt2")["tokenizer"]["kind"] == "characters"
    program = torch.export.load(str(tmp_path / "lm.pt2")).module()
    ids = torch.randint(0, 58, (3, 9))
    with torch.no_grad():
        assert torch.allclose(program(ids), _torch_model(doc, weights)(ids), atol=1e-5)


def test_standalone_code_includes_the_character_tokenizer(trained, tmp_path: Path) -> None:
    doc, weights = trained
    report = export_model(doc, weights, "python", tmp_path / "lm.py")
    spec = importlib.util.spec_from_file_location("exported_lm", report.path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ids = module.encode("First Citizen")
    assert module.decode(ids) == "First Citizen"
    standalone, reference = module.load().eval(), _torch_model(doc, weights)
    with torch.no_grad():
        for length in (4, 13):  # two lengths below the context of 16
            out = standalone(ids[None, :length])
            assert out.shape == (1, length, 64)
            assert torch.allclose(out, reference(ids[None, :length]), atol=1e-5)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        module.encode("Ω")


def test_export_from_the_checkpoint_carries_the_tokenizer(trained, tmp_path: Path) -> None:
    doc, weights = trained
    report = export_model(doc, weights.with_name("checkpoint.pt"), "python", tmp_path / "lm.py")
    assert not any("no tokenizer" in note for note in report.notes), report.notes
    spec = importlib.util.spec_from_file_location("exported_from_checkpoint", report.path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.decode(module.encode("First Citizen")) == "First Citizen"


def test_onnx_of_a_recurrent_model_declares_its_free_length(tmp_path: Path) -> None:
    import onnx
    import onnxruntime

    doc = char_lstm(shakespeare_slice(tmp_path), context=16)
    model = compile_network(doc).eval()
    export_module(doc, "main", model, None, "onnx", tmp_path / "lstm.onnx")
    graph = onnx.load(str(tmp_path / "lstm.onnx")).graph
    assert [d.dim_param for d in graph.output[0].type.tensor_type.shape.dim][:2] == [
        "batch", "sequence"]
    session = onnxruntime.InferenceSession(str(tmp_path / "lstm.onnx"),
                                           providers=["CPUExecutionProvider"])
    for length in (3, 16):
        ids = torch.randint(0, 64, (2, length))
        got = session.run(None, {session.get_inputs()[0].name: ids.numpy()})[0]
        with torch.no_grad():
            assert np.abs(got - model(ids).numpy()).max() < 1e-4
