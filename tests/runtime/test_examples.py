"""Every example in the gallery validates, summarises, learns on a short budget, and
exports to ONNX and to PyTorch code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from text_models import shakespeare_slice

from graph import load_graph
from graph.codegen import generate_code
from graph.summary import format_summary
from graph.validate import validate
from runtime.export import export_model
from runtime.trainer import RunOptions, Trainer

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "resources" / "examples").glob("*.loom"))
SHORT = {"epochs": 3, "max_steps_per_epoch": 12}
# A language model validates on its whole held-out tenth at each epoch's end (111,540
# characters of Tiny Shakespeare: most of a short run); here it reads the first 120,000
# characters instead, with the same network, tokenizer and training settings, and takes
# fewer steps (each is a batch of 16-32 windows of 64 characters).
SHORT_TEXT_CHARS = 120_000
SHORT_TEXT = {"epochs": 2, "max_steps_per_epoch": 6}


def test_the_gallery_has_the_two_first_examples() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"mlp_moons", "cnn_digits"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_is_valid_and_documented(path: Path) -> None:
    doc = load_graph(path)
    errors = [d for d in validate(doc) if d.is_error]
    assert not errors, errors
    assert len(doc.ui.get("description", "")) > 40
    assert "Total params" in format_summary(doc)
    for network in doc.networks:
        compile(generate_code(doc, network), f"{path.stem}:{network}", "exec")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_learns_briefly_and_exports(path: Path, tmp_path: Path) -> None:
    doc = load_graph(path)
    short = SHORT
    if doc.training.task == "language_model":
        short = SHORT_TEXT
        data = doc.training.data.model_copy(update={"name": "text", "options": {
            "path": str(shakespeare_slice(tmp_path, SHORT_TEXT_CHARS))}})
        doc.set_training(doc.training.model_copy(update={"data": data}))
    events: list[dict] = []
    result = Trainer(doc, RunOptions(**short, out_dir=tmp_path, step_interval=0),
                     sink=events.append).run()
    assert result.status == "completed"
    steps = [e["loss"] for e in events if e["type"] == "step"]
    task = doc.training.task
    if task != "gan":  # a GAN's two losses chase each other; they need not fall
        assert steps[-1] < 0.9 * steps[0], (steps[0], steps[-1])
    else:  # the discriminator has learned to tell real from generated better than chance
        assert result.metrics["val_d_accuracy"] > 0.55, result.metrics
    if task == "classification":
        record = json.loads((tmp_path / "preprocessing.json").read_text())
        classes = record["num_classes"] or 2
        assert result.metrics["val_accuracy"] > 1.0 / classes + 0.05
    for network in doc.networks:
        report = export_model(doc, tmp_path / "model.safetensors", "onnx",
                              tmp_path / f"{network}.onnx", network)
        assert report.max_diff <= 1e-4

