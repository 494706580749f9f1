"""The example gallery, trained to its full budget: Layerloom beside a plain PyTorch loop.

For every example and training seed this runs ``main.py train`` (wall time, start-up
included) and then ``main.py evaluate`` for the task's headline metrics; then an
idiomatic hand-written loop trains the same architecture (the standalone code that
Layerloom generates) on the same prepared data with the same optimizer, schedule,
batch size, epochs and thread count, and reports its seconds and metric; its trained
model then goes through the same ``main.py evaluate`` (not timed), so both loops are
judged alike (a GAN's sample quality, an autoencoder's codes).

A language model's headline is its validation loss in nats per character (the
held-out last 10% of the text), from ``evaluate`` for both loops.

Each run is one stamped row (``bench/record.py``: commit, date, load before and
after, command) appended to a JSON-lines file, and runs already there are skipped,
so the (long) full run can be resumed; rows written before the stamps read alike.
Tune with one seed (``--seeds 0``) before running three. ``--long`` trains the
language models for about ten minutes each (``LONG_EPOCHS``), Layerloom only, into
``bench/results/examples_long.jsonl``.

    .venv/bin/python bench/bench_examples.py [--only NAME ...] [--seeds 0 1 2]
        [--results bench/results/examples.jsonl] [--no-plain] [--table] [--markdown]
        [--no-times] [--long]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plain_loop import save_as_weights, train_plain  # noqa: E402
from record import Recorder, read_rows  # noqa: E402

EXAMPLES = ROOT / "resources" / "examples"

# file stem → [(metric, "≥" or "≤", threshold)]; the first is the headline.
TARGETS: dict[str, list[tuple[str, str, float]]] = {
    "mlp_moons": [("test_accuracy", "≥", 0.965)],
    "mlp_iris": [("test_accuracy", "≥", 0.96)],
    "cnn_digits": [("test_accuracy", "≥", 0.99)],
    "cnn_mnist": [("test_accuracy", "≥", 0.975)],
    "resnet_digits": [("test_accuracy", "≥", 0.99)],
    "rnn_sine": [("test_mse", "≤", 0.01), ("mse_vs_baseline", "≤", 0.5)],
    "lstm_digits": [("test_accuracy", "≥", 0.96)],
    "transformer_digits": [("test_accuracy", "≥", 0.97)],
    "transformer_reverse": [("test_accuracy", "≥", 0.99), ("test_sequence_accuracy", "≥", 0.95)],
    "gan_ring": [("modes_covered", "≥", 7), ("high_quality_share", "≥", 0.5)],
    "dcgan_digits": [("evaluator_confidence", "≥", 0.85), ("evaluator_classes_covered", "≥", 8),
                     ("frechet_distance", "≤", 20.0)],
    "autoencoder_digits": [("reconstruction_mse", "≤", 0.04), ("code_knn_accuracy", "≥", 0.70)],
    "autoencoder_digits_8d": [("reconstruction_mse", "≤", 0.02)],
    "gpt_shakespeare": [("val_loss", "≤", 1.90)],
    "lstm_shakespeare": [("val_loss", "≤", 1.65)],
}
# about ten minutes of training each on this machine (one thread): 7 × ~80 s, 16 × ~35 s
LONG_EPOCHS = {"gpt_shakespeare": 7, "lstm_shakespeare": 16}


def _run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"main.py {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def _env(threads: int) -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS=str(threads))


def _evaluated(path: Path, weights: Path, threads: int,
               metrics: dict[str, Any]) -> dict[str, Any]:
    """``metrics`` with ``main.py evaluate``'s report on ``weights`` (not timed)."""
    _, report = _run(["evaluate", str(path), "--weights", str(weights), "--json"],
                     _env(threads))
    # The same judge for both loops: where both say, the report wins.
    metrics = {**metrics,
               **{k: v for k, v in json.loads(report).items() if isinstance(v, int | float)}}
    if "perplexity" in metrics:  # a language model: nats per token on the held-out text
        metrics["val_loss"] = metrics["loss"]
    if "baseline_mse" in metrics and "mse" in metrics:
        metrics["mse_vs_baseline"] = metrics["mse"] / metrics["baseline_mse"]
        metrics["test_mse"] = metrics["mse"]
    return metrics


def layerloom_run(path: Path, seed: int, threads: int,
                  epochs: int | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as out:
        budget = ["--epochs", str(epochs)] if epochs else []
        seconds, stdout = _run(["train", str(path), "--seed", str(seed), "--out", out,
                                "--threads", str(threads), "--json", *budget], _env(threads))
        final = json.loads(stdout.strip().splitlines()[-1])
        metrics = {k: v for k, v in final.items() if isinstance(v, int | float)}
        return {"seconds": seconds,
                "metrics": _evaluated(path, Path(out) / "model.safetensors", threads, metrics)}


def plain_run(path: Path, seed: int, threads: int) -> dict[str, Any]:
    """The plain loop's seconds and metric, and its model judged by ``evaluate`` too."""
    with tempfile.TemporaryDirectory() as out:
        row = train_plain(path, seed, threads, save=Path(out) / "plain.pt")
        save_as_weights(path, Path(out) / "plain.pt", Path(out) / "model.safetensors")
        row["metrics"] = _evaluated(path, Path(out) / "model.safetensors", threads,
                                    row["metrics"])
        return row


def _done(bench: str, results: Path) -> dict[tuple[str, int, str], dict[str, Any]]:
    """The runs recorded so far, the newest of each (rows with or without stamps)."""
    return {(row["example"], row["seed"], row["kind"]): row
            for row in read_rows(bench, results)}


def _measured(bench: str, results: Path, key: tuple[str, int, str], threads: int,
              run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one loop and append its stamped row at once (a long run resumes from it)."""
    example, seed, kind = key
    with Recorder(bench, results) as recorder:
        return recorder.row(example=example, seed=seed, kind=kind, threads=threads, **run())


EVERY_SEED = {"modes_covered"}  # the issue asks these of every seed, not of the median
WITHIN_5_PERCENT = {"val_loss"}  # issue 12: the worst language-model seed 5% short at most


def _meets(value: float | None, op: str, target: float) -> bool:
    return value is not None and (value >= target if op == "≥" else value <= target)


def _worst_ok(metric: str, op: str, target: float, worst: float) -> bool:
    """The worst seed may fall 1 point short (a fraction: 0.01), an error or distance 25%
    (a language model's loss 5%)."""
    if metric in EVERY_SEED:
        return _meets(worst, op, target)
    if metric in WITHIN_5_PERCENT:
        return _meets(worst, op, target * (1.05 if op == "≤" else 0.95))
    if op == "≤":
        return worst <= 1.25 * target
    return worst >= target - (0.01 if target <= 1 else 1)


HEADER = ("example", "metric", "target", "median", "worst", "sec", "plain sec",
          "plain metric", "time ratio", "ok")


TIME_COLUMNS = {"sec", "plain sec", "time ratio"}


def _table(done: dict[tuple[str, int, str], dict[str, Any]], names: list[str],
           seeds: list[int], markdown: bool = False, times: bool = True) -> str:
    keep = [i for i, name in enumerate(HEADER) if times or name not in TIME_COLUMNS]
    rows = [tuple(row[i] for i in keep) for row in [HEADER, *_rows(done, names, seeds)]]
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join([lines[0], "|" + " --- |" * len(keep), *lines[1:]])
    widths = [(24, 26, 8, 8, 8, 6, 9, 12, 10, 3)[i] for i in keep]
    return "\n".join(" ".join(f"{cell:<{w}}" if i < 2 else f"{cell:>{w}}"
                              for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
                     for row in rows)


def _rows(done: dict[tuple[str, int, str], dict[str, Any]], names: list[str],
          seeds: list[int]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for name in names:
        ours = [done[(name, s, "layerloom")] for s in seeds if (name, s, "layerloom") in done]
        plain = [done[(name, s, "plain")] for s in seeds if (name, s, "plain") in done]
        if not ours:
            continue
        sec = statistics.median(r["seconds"] for r in ours)
        plain_sec = statistics.median(r["seconds"] for r in plain) if plain else None
        for metric, op, target in TARGETS.get(name, []):
            values = [r["metrics"].get(metric) for r in ours]
            values = [v for v in values if v is not None]
            if not values:
                continue
            median = statistics.median(values)
            worst = min(values) if op == "≥" else max(values)
            plain_values = [r["metrics"].get(metric) for r in plain
                            if r["metrics"].get(metric) is not None]
            plain_metric = f"{statistics.median(plain_values):.4g}" if plain_values else "-"
            ratio = f"{sec / plain_sec:.2f}" if plain_sec else "-"
            ok = _meets(median, op, target) and _worst_ok(metric, op, target, worst)
            rows.append((name, metric, f"{op} {target:.4g}", f"{median:.4g}", f"{worst:.4g}",
                         f"{sec:.1f}", f"{plain_sec:.1f}" if plain_sec else "-", plain_metric,
                         ratio, "yes" if ok else "NO"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="example names (file stems)")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--results", type=Path,
                        help="default: bench/results/examples.jsonl (examples_long with --long)")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain PyTorch loop")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    parser.add_argument("--no-times", action="store_true",
                        help="leave out the seconds (runs recorded under different loads)")
    parser.add_argument("--table", action="store_true",
                        help="only print the table of the runs already recorded")
    parser.add_argument("--again", action="store_true",
                        help="run even where a row exists (the table shows the newest row)")
    parser.add_argument("--long", action="store_true",
                        help="the language models for about ten minutes each, Layerloom only")
    args = parser.parse_args()
    bench = "examples_long" if args.long else "examples"
    results = args.results or ROOT / "bench" / "results" / f"{bench}.jsonl"
    names = args.only or (sorted(LONG_EPOCHS) if args.long
                          else sorted(p.stem for p in EXAMPLES.glob("*.loom")))
    done = _done(bench, results)
    for name in [] if args.table else names:
        path = EXAMPLES / f"{name}.loom"
        epochs = LONG_EPOCHS[name] if args.long else None
        for seed in args.seeds:
            key = (name, seed, "layerloom")
            if args.again or key not in done:
                done[key] = _measured(bench, results, key, args.threads,
                                      partial(layerloom_run, path, seed, args.threads, epochs))
            key = (name, seed, "plain")
            if not (args.no_plain or args.long) and (args.again or key not in done):
                done[key] = _measured(bench, results, key, args.threads,
                                      partial(plain_run, path, seed, args.threads))
    print(_table(done, names, args.seeds, args.markdown, not args.no_times))


if __name__ == "__main__":
    main()
