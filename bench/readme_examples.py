"""The README's example-gallery figures, from the rows ``bench_examples`` records.

Rows are read from every ``bench/results/examples*.jsonl``: stamped rows (written
through ``record.Recorder``, bench name "examples") and the older unstamped ones,
which carry no commit, date, thread count or load and are labelled as such. For each
(example, seed, loop) the newest stamped row wins over unstamped ones.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

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
