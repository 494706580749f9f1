"""Every fuzz target by name; each is built on first use (its imports can be heavy)."""

from __future__ import annotations

from collections.abc import Callable

from tests.fuzz import data_targets, graph_target, run_targets
from tests.fuzz.harness import Target

TARGETS: dict[str, Callable[[], Target]] = {
    "graph": graph_target.target,
    "cli": graph_target.cli_target,
    "csv": data_targets.csv_target,
    "npz": data_targets.npz_target,
    "idx": data_targets.idx_target,
    "image": data_targets.image_target,
    "predict": data_targets.predict_target,
    "weights": run_targets.weights_target,
    "checkpoint": run_targets.checkpoint_target,
}
