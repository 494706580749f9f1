"""The decision boundary a run streams equals the model's predictions on its grid,
computed here independently (raw grid, our own standardisation, a plain forward)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from helpers import digits_cnn, moons_mlp, training

from graph import Document, NetworkBuilder
from runtime.data import load_dataset, split_indices
from runtime.inspect.boundary import GRID, boundary_of
from runtime.inspect.model import inspect_model
from runtime.trainer import RunOptions, Trainer


def run(doc: Document) -> tuple[list[Any], Any]:
    events: list[Any] = []
    result = Trainer(doc, RunOptions(threads=1, step_interval=10), sink=events.append).run()
    return [e for e in events if e["type"] == "boundary"], result


def raw_splits(doc: Document) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All samples, the training rows and the test rows, in the data's own units."""
    spec = doc.training.data
    data = load_dataset(spec.name, spec.options)
    rows = split_indices(len(data.x), spec.split, data.y if spec.split.stratify else None)
    return data.x, rows.train, rows.test


def test_the_boundary_for_moons_is_the_models_prediction_on_a_grid_in_data_units() -> None:
    doc = moons_mlp(data={"name": "moons", "options": {"n_samples": 240, "noise": 0.1},
                          "normalize": "standard"}, epochs=3)
    records, result = run(doc)
    assert records[-1]["epoch"] == 3 and "points" in records[0]
    assert all("points" not in r for r in records[1:])  # sent once: they do not move
    record = records[-1]
    x, train, test = raw_splits(doc)
    (x0, x1), (y0, y1) = record["x_range"], record["y_range"]
    assert x0 < x[:, 0].min() < x[:, 0].max() < x1 and y0 < x[:, 1].min() < x[:, 1].max() < y1
    xs, ys = np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID)
    grid = np.array([[gx, gy] for gy in ys for gx in xs])  # row by row, from y0 up
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    model = result.networks["main"].eval()
    with torch.no_grad():
        logits = model(torch.tensor((grid - mean) / std, dtype=torch.float32))
    expected = logits.argmax(dim=1).numpy()
    sure = (logits[:, 1] - logits[:, 0]).abs().numpy() > 1e-4  # not on the boundary itself
    predicted = np.asarray(record["predicted"])
    assert len(predicted) == GRID * GRID and set(predicted) == {0, 1}
    assert (predicted[sure] == expected[sure]).all()
    probabilities = torch.softmax(logits, dim=1).max(dim=1).values.numpy()
    assert np.abs(np.asarray(record["confidence"]) - 100 * probabilities).max() <= 0.5 + 1e-3
    points = records[0]["points"]
    assert np.allclose(points["train"]["x"], x[train][:, 0]) and len(points["test"]["x"]) \
        == len(test)


def test_a_one_feature_regression_shows_its_fitted_curve(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(10, 20, 120)
    csv = tmp_path / "line.csv"
    csv.write_text("x,y\n" + "".join(f"{a},{2 * a + 1}\n" for a in x))
    doc = Document.new()
    b = NetworkBuilder(doc)
    b.add("Output", b.add("Linear", b.add("Input", shape=[1]), out_features=1))
    doc.set_training(training(task="regression", loss={"name": "mse"}, epochs=2,
                              data={"name": "csv", "options": {"path": str(csv), "target": "y"},
                                    "normalize": "standard"}))
    records, result = run(doc)
    record = records[-1]
    assert record["mode"] == "curve" and record["x_range"][0] < 10 < 20 < record["x_range"][1]
    curve_x = np.asarray(record["x"])
    train = np.asarray(records[0]["points"]["train"]["x"])
    with torch.no_grad():
        model = result.networks["main"].eval()
        mean, std = train.mean(), train.std()  # every training row is among the points
        expected = model(torch.tensor((curve_x[:, None] - mean) / std, dtype=torch.float32))
    assert np.allclose(record["y"], expected.numpy()[:, 0], rtol=1e-4, atol=1e-4)
    assert np.allclose(records[0]["points"]["train"]["y"], 2 * train + 1, rtol=1e-5)


def test_at_rest_the_boundary_comes_from_fresh_or_trained_weights(tmp_path: Path) -> None:
    doc = moons_mlp(epochs=2)
    fresh = boundary_of(inspect_model(doc))
    assert fresh is not None and "points" in fresh
    Trainer(doc, RunOptions(threads=1, out_dir=tmp_path, activations=False)).run()
    trained = boundary_of(inspect_model(doc, tmp_path / "model.safetensors"))
    assert trained is not None and trained["predicted"] != fresh["predicted"]


def test_images_have_no_boundary() -> None:
    records, _ = run(digits_cnn(epochs=1))
    assert records == []
    assert boundary_of(inspect_model(digits_cnn())) is None
