"""Every fuzz target by name; each is built on first use (its imports can be heavy).

To fuzz another kind of input, write a function returning a ``harness.Target`` (seeds,
a mutator, the code to run on a mutant and the errors it may raise) and add it here:
``make fuzz`` then runs 1,000 of its mutants and the normal test run 24
(``test_fuzz_inputs.py``).
"""

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
