"""A few dozen mutants of every other input kind in each test run (``make fuzz`` runs
1,000 of each): data files read as training reads them, predict inputs, weights files
and checkpoints. Only the project's own errors may come out, within the time limit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.fuzz.harness import fuzz
from tests.fuzz.targets import TARGETS

CASES = 24
KINDS = sorted(kind for kind in TARGETS if kind != "graph")


@pytest.mark.parametrize("kind", KINDS)
def test_mutants_only_raise_the_projects_errors(kind: str) -> None:
    report = fuzz(TARGETS[kind](), CASES, seed=0, limit=10.0)
    failures = "\n".join(f"case {c.index} ({c.seed}: {c.what}) {c.outcome}: {c.error}"
                         for c in report.escapes + report.hangs)
    assert report.cases == CASES and not failures, failures


def test_an_npz_whose_targets_are_one_value_is_refused(tmp_path: Path) -> None:
    """Found by the npz target: a 0-d ``y`` escaped as TypeError (len() of unsized object)."""
    from graph.training import DataSpec
    from runtime.data import DataError
    from runtime.data.pipeline import prepare

    np.savez(tmp_path / "d.npz", x=np.zeros((30, 4), np.float32), y=np.array(3.0))
    with pytest.raises(DataError, match=r"d\.npz: 30 samples but 0 targets"):
        prepare(DataSpec(name="npz", options={"path": "d.npz"}), "classification",
                base_dir=tmp_path)
