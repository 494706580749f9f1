"""The data preview: samples as a run sees them, class balance and split sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graph.training import DataSpec
from runtime.data import DataError, prepare
from runtime.data.preview import preview


@pytest.mark.parametrize(("name", "task", "kind", "shape"), [
    ("moons", "classification", "points", (2,)),
    ("digits", "classification", "image", (1, 8, 8)),
    ("sine", "regression", "sequence", (20, 1)),
    ("iris", "classification", "table", (4,)),
    ("reverse", "classification", "table", (8,)),
])
def test_each_kind_of_data_is_previewed_as_a_run_splits_it(name: str, task: str, kind: str,
                                                          shape: tuple[int, ...]) -> None:
    spec = DataSpec.model_validate({"name": name})
    shown = preview(spec, task)
    prepared = prepare(spec, task)
    assert shown.kind == kind and shown.sample_shape == shape
    assert shown.split_sizes == {s: len(prepared.split(s)) for s in ("train", "val", "test")}
    if kind != "points":
        rows = prepared.train.indices[:32]
        assert np.array_equal(shown.samples, prepared.dataset.x[rows])  # raw, train order
    if prepared.dataset.class_names and prepared.dataset.target_kind == "class":
        assert shown.class_counts == np.bincount(prepared.dataset.y).tolist()
        assert shown.labels[0] == prepared.dataset.class_names[
            prepared.dataset.y[shown_rows(shown, prepared)[0]]]


def shown_rows(shown, prepared) -> np.ndarray:
    if shown.kind == "points":
        return np.concatenate([prepared.train.indices, prepared.val.indices,
                               prepared.test.indices])
    return prepared.train.indices


def test_two_dimensional_points_carry_their_classes() -> None:
    shown = preview(DataSpec.model_validate({"name": "moons", "options": {"n_samples": 300}}),
                    "classification")
    assert len(shown.samples) == 300 and shown.point_classes is not None
    assert shown.class_counts == [150, 150]


def test_text_shows_an_excerpt(tmp_path: Path) -> None:
    corpus = tmp_path / "poem.txt"
    corpus.write_text("The quick brown fox jumps over the lazy dog.\n" * 40)
    shown = preview(DataSpec.model_validate({"name": "text", "options": {
        "path": str(corpus)}}), "language_model")
    assert shown.kind == "text" and shown.text.startswith("The quick brown fox")


def test_a_data_problem_is_the_runs_own_message(tmp_path: Path) -> None:
    spec = DataSpec.model_validate({"name": "csv", "options": {"path": "missing.csv"}})
    with pytest.raises(DataError, match=r"missing\.csv"):
        preview(spec, "classification", tmp_path)
