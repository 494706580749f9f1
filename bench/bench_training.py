"""Training throughput: Layerloom's trainer against a plain PyTorch loop, side by side.

All three train the same architecture on the same prepared tensors with the same
optimizer, schedule, batch size, epochs and thread count, validate after every epoch
and evaluate the test split at the end:

* plain: ``bench/plain_loop.py``'s loop, what a careful PyTorch user writes (the
  standalone code Layerloom generates, batches gathered with ``index_select``, no
  host synchronisation inside an epoch);
* layerloom: the ``Trainer`` as ``layerloom train`` runs it (throttled step events,
  per-epoch metrics, a finiteness check of each loss);
* layerloom + insights: the same with everything the window streams (activation
  probes, decision boundary, embeddings, …), as a run started from the window.

Each round runs the three in a rotating order in this one process, after one round
of warm-up that is not counted; samples/s is the samples trained over the seconds
from the start of the first epoch to the end of the test evaluation. A ratio is
the median over rounds of (ours / plain in the same round), with its range. Each
file's runs are appended as a stamped row to ``bench/results/training.jsonl``.

    .venv/bin/python bench/bench_training.py [FILE.loom ...] [--epochs N] [--repeats R]
        [--threads 1]

One thread by default, as the other benches: on this 2-core machine, shared with
other work, two OpenMP threads that wait for a busy core make run-to-run times vary
by up to 2× (that, and the plain loop always running first in each pair, is how an
earlier version of this bench reported Layerloom 1.21× faster than the plain loop).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from plain_loop import train_document  # noqa: E402
from record import Recorder, add_results_argument, paired_ratio  # noqa: E402

from graph import Document, load_graph  # noqa: E402
from graph.training import AugmentSpec  # noqa: E402
from runtime.trainer import RunOptions, Trainer  # noqa: E402

DEFAULT_FILES = ["resources/examples/mlp_moons.loom", "resources/examples/cnn_digits.loom"]
KINDS = ("plain", "layerloom", "insights")
TARGET = 0.95  # samples/s of ours / plain


def _load(path: Path, epochs: int) -> Document:
    """The document without augmentation (the plain loop would pay for it too, but the
    figure is about the loop) and with ``epochs``."""
    doc = load_graph(path)
    data = doc.training.data.model_copy(update={"augment": AugmentSpec()})
    doc.set_training(doc.training.model_copy(update={"data": data, "epochs": epochs}))
    return doc


def plain_run(path: Path, epochs: int) -> float:
    """Samples per second of the plain loop."""
    done = train_document(_load(path, epochs), path.parent, 0)
    return float(done["samples"]) / float(done["seconds"])


def layerloom_run(path: Path, epochs: int, insights: bool) -> float:
    """Samples per second of the trainer, from its first epoch to the end of its test pass."""
    doc = _load(path, epochs)
    marks: dict[str, float] = {}
    samples = [0]

    def sink(event: Any) -> None:
        if event["type"] in ("started", "finished"):
            marks[event["type"]] = time.perf_counter()
        if event["type"] == "started":
            samples[0] = event["samples"] * epochs

    Trainer(doc, RunOptions(epochs=epochs, activations=insights, base_dir=path.parent),
            sink=sink).run()
    return samples[0] / (marks["finished"] - marks["started"])


def _runners(path: Path, epochs: int) -> dict[str, Callable[[], float]]:
    return {"plain": lambda: plain_run(path, epochs),
            "layerloom": lambda: layerloom_run(path, epochs, insights=False),
            "insights": lambda: layerloom_run(path, epochs, insights=True)}


def measure(path: Path, epochs: int, repeats: int) -> dict[str, list[float]]:
    """Samples/s of each kind, one value per round (rotating order; one warm-up round)."""
    runners = _runners(path, epochs)
    for kind in KINDS:
        runners[kind]()
    runs: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for r in range(repeats):
        for k in range(len(KINDS)):
            kind = KINDS[(k + r) % len(KINDS)]
            runs[kind].append(runners[kind]())
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=DEFAULT_FILES)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    add_results_argument(parser, "training")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}, {args.epochs} epochs, {args.repeats} rounds")
    print(f"{'model':<14} {'plain /s':>9} {'ours /s':>9} {'+insights /s':>13} "
          f"{'ours / plain':>22} {'+insights / plain':>22}")
    with Recorder("training", args.results) as rec:
        for name in args.files:
            path = ROOT / name
            runs = measure(path, args.epochs, args.repeats)
            ours = paired_ratio(runs["layerloom"], runs["plain"])
            window = paired_ratio(runs["insights"], runs["plain"])
            rec.row(case=path.stem, epochs=args.epochs, unit="samples/s", runs=runs,
                    ratio=ours, ratio_insights=window, target=["≥", TARGET])
            medians = [statistics.median(runs[k]) for k in KINDS]
            print(f"{path.stem:<14} {medians[0]:>9,.0f} {medians[1]:>9,.0f} {medians[2]:>13,.0f} "
                  f"{_range(ours):>22} {_range(window):>22}")
    print(f"target: ours / plain ≥ {TARGET}")


def _range(ratio: dict[str, float]) -> str:
    return f"{ratio['median']:.3f} ({ratio['min']:.3f}–{ratio['max']:.3f})"


if __name__ == "__main__":
    main()
