"""Stamped benchmark rows: every figure the README shows comes from one of these.

A row says what was measured and under which conditions: the commit (and whether
the tree had uncommitted changes), the date, torch's version, the thread count, the
machine's load before and after, and the exact command line, beside the raw
per-run numbers. Rows are appended to ``bench/results/<bench>.jsonl`` and never
rewritten, so a figure can always be traced to the run that produced it.

    from record import Recorder
    with Recorder("compile") as rec:       # load and time are taken around the block
        rec.row(case="mlp", runs={...}, ratio=...)
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=10, check=False)
    except OSError:
        return ""
    return done.stdout.strip()


def commit() -> str:
    """The short commit hash, with '+dirty' when tracked files differ from it."""
    head = _git("rev-parse", "--short", "HEAD") or "unknown"
    changed = _git("status", "--porcelain", "--untracked-files=no").splitlines()
    # rows appended by an earlier bench of the same session change no measured code
    paths = [line.split(maxsplit=1)[-1] for line in changed]
    dirty = [path for path in paths if not path.startswith("bench/results/")]
    return f"{head}+dirty" if dirty else head


def load() -> float:
    """The one-minute load average (0 where the system has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return 0.0


def torch_threads() -> int | None:
    """torch's thread count, if torch is loaded (the stamp never imports it: a bench may
    be timing that import)."""
    torch = sys.modules.get("torch")
    return None if torch is None else int(torch.get_num_threads())


def torch_version() -> str | None:
    """The installed torch's version, read from its package metadata when the bench has not
    imported torch (importing it would cost a start-up figure seconds)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return str(torch.__version__)
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def paired_ratio(ours: list[float], theirs: list[float]) -> dict[str, float]:
    """Median of the per-pair ratios ours[i] / theirs[i] and their spread (min, max).

    Each of our runs is compared with the plain run right beside it, so drift in the
    machine's load over the benchmark cancels out in each pair."""
    if len(ours) != len(theirs) or not ours:
        raise ValueError("paired runs must come in equal, non-empty lists")
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios),
            "pairs": len(ratios)}


def ours_first(pair: int) -> bool:
    """Whether pair ``pair`` runs ours before theirs: the order alternates, so whatever
    the first run of a pair pays (a cold cache, a load spike) falls on both sides."""
    return pair % 2 == 1


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by the nearest rank of the sorted values."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def verdict(value: float, op: str, target: float) -> str:
    """'met' or 'missed' for ``value`` against a target such as ``("≤", 1.02)``."""
    checks = {"≤": value <= target, "<": value < target, "≥": value >= target,
              ">": value > target}
    if op not in checks:
        raise ValueError(f"unknown comparison {op!r}")
    return "met" if checks[op] else "missed"


def add_results_argument(parser: argparse.ArgumentParser, bench: str) -> None:
    """``--results FILE``: where the rows go (a trial run can keep them out of the README's)."""
    parser.add_argument("--results", type=Path, default=RESULTS / f"{bench}.jsonl",
                        help=f"JSON-lines file the rows are appended to "
                             f"(default bench/results/{bench}.jsonl)")


class Recorder:
    """Collects rows of one benchmark run and appends them, stamped, to its results file."""

    def __init__(self, bench: str, results: Path | None = None) -> None:
        self.bench = bench
        self.path = results or RESULTS / f"{bench}.jsonl"
        self.stamp: dict[str, Any] = {}
        self.rows: list[dict[str, Any]] = []

    def __enter__(self) -> Recorder:
        self.stamp = {
            "bench": self.bench, "commit": commit(),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(), "torch": torch_version(),
            "threads": torch_threads(), "cores": os.cpu_count(), "load_before": load(),
            "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        }
        return self

    def row(self, **fields: Any) -> dict[str, Any]:
        """Add one row (written when the block ends, with the load after the runs)."""
        row = dict(fields)
        self.rows.append(row)
        return row

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is not None or not self.rows:
            return  # a failed run records nothing: a partial row would read as a result
        after = load()
        # a bench that sets its thread count inside the block is stamped with that one
        self.stamp["threads"] = torch_threads()
        self.stamp["torch"] = torch_version()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            for row in self.rows:
                out.write(json.dumps({**self.stamp, "load_after": after, **row}) + "\n")


def read_rows(bench: str, results: Path | None = None) -> list[dict[str, Any]]:
    """Every row recorded for ``bench`` (oldest first)."""
    path = results or RESULTS / f"{bench}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def stamped(row: dict[str, Any]) -> bool:
    """Whether a row carries the stamp (rows from before the Recorder do not)."""
    return all(key in row for key in ("commit", "date", "threads", "load_before"))


def newest_by_case(rows: list[dict[str, Any]], case: str = "case") -> dict[Any, dict[str, Any]]:
    """The newest stamped row of each case (rows are appended, so the last one wins)."""
    newest: dict[Any, dict[str, Any]] = {}
    for row in rows:
        if stamped(row) and case in row:
            newest[row[case]] = row
    return newest
