"""The README's figures, generated from the recorded benchmark rows.

Each marked section of README.md (``<!-- bench:NAME -->`` … ``<!-- /bench:NAME -->``)
is rewritten from ``bench/results/*.jsonl``: the newest stamped run of each case, with
the commit, date, threads and machine load it was recorded under. Nothing between the
markers is written by hand.

    .venv/bin/python bench/readme_tables.py            # rewrite README.md
    .venv/bin/python bench/readme_tables.py --check    # exit 1 if README.md differs

CI runs ``--check``, so a figure edited by hand, or rows recorded without regenerating
the README, fail the build.
"""

from __future__ import annotations

import argparse
import difflib
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from readme_examples import baselines_section, examples_section, gallery_section
from readme_language import language_section
from record import RESULTS, ROOT, newest_by_case, percentile, read_rows, verdict

Row = dict[str, Any]
Section = Callable[[Path], str]
MARKER = re.compile(r"(<!-- bench:(?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- /bench:(?P=name) -->)",
                    re.S)


def recorded(rows: list[Row]) -> str:
    """One line per distinct run among ``rows``: when, where and under which load."""
    lines = []
    seen = set()
    for row in rows:
        key = (row["date"], row["commit"])
        if key in seen:
            continue
        seen.add(key)
        threads = row.get("threads")
        thread_text = f"{threads} thread{'s' if threads != 1 else ''}" if threads else \
            "threads not recorded"
        lines.append(f"Recorded {row['date'][:16].replace('T', ' ')} UTC at `{row['commit']}`, "
                     f"torch {row.get('torch') or '?'}, {thread_text} on {row.get('cores')} "
                     f"cores, load average {row['load_before']} → {row.get('load_after')}: "
                     f"`{row['command']}`")
    return "\n".join(f"{line}  " if i < len(lines) - 1 else line
                     for i, line in enumerate(lines))


def ratio_text(ratio: dict[str, float]) -> str:
    return f"{ratio['median']:.3f} ({ratio['min']:.3f}–{ratio['max']:.3f}, {ratio['pairs']} pairs)"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def ms_text(value: float) -> str:
    """Milliseconds with one decimal, two below 1 ms (a cached edit takes 0.03 ms)."""
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def _missing(bench: str, command: str) -> str:
    return f"No stamped rows in `bench/results/{bench}.jsonl` yet: run `{command}`."


def compile_section(results: Path) -> str:
    newest = newest_by_case(read_rows("compile", results / "compile.jsonl"))
    if not newest:
        return _missing("compile", ".venv/bin/python bench/bench_compile.py")
    rows = []
    for case, row in newest.items():
        ms = {k: statistics.median(v) for k, v in row["runs"].items()}
        op, target = row["target"]
        rows.append([case, f"{ms['compiled']:.3f}", f"{ms['generated']:.3f}",
                     f"{ms['hand_written']:.3f}", ratio_text(row["ratio_generated"]),
                     f"{op} {target} {verdict(row['ratio_generated']['median'], op, target)}",
                     ratio_text(row["ratio_hand_written"])])
    header = ["model", "compiled ms", "generated code ms", "hand-written ms",
              "compiled / generated code", "target", "compiled / hand-written"]
    return table(header, rows) + "\n\n" + recorded(list(newest.values()))


def shapes_section(results: Path) -> str:
    newest = newest_by_case(read_rows("shapes", results / "shapes.jsonl"))
    if not newest:
        return _missing("shapes", ".venv/bin/python bench/bench_shapes.py")
    rows = []
    for row in newest.values():
        targets = row["targets_ms"]
        cold = statistics.median(row["full_cold_ms"])
        rows.append([f"full inference, {row['nodes']} nodes, cold cache (median)",
                     f"{cold:.1f} ms", f"< {targets['full_cold']:g} ms "
                     f"{verdict(cold, '<', targets['full_cold'])}"])
        rows.append(["full inference, warm cache (median)",
                     f"{statistics.median(row['full_warm_ms']):.1f} ms", ""])
        for label, edit in row["edits"].items():
            first = edit["first_ms"]
            rows.append([f"one edit, `{label}` ({edit['reinferred']} nodes re-inferred), "
                         "first / again (median)",
                         f"{ms_text(first)} / {ms_text(statistics.median(edit['again_ms']))} ms",
                         f"< {targets['edit']:g} ms {verdict(first, '<', targets['edit'])}"])
    return table(["what", "time", "target"], rows) + "\n\n" + recorded(list(newest.values()))


def training_section(results: Path) -> str:
    newest = newest_by_case(read_rows("training", results / "training.jsonl"))
    if not newest:
        return _missing("training", ".venv/bin/python bench/bench_training.py")
    rows = []
    for case, row in newest.items():
        med = {k: statistics.median(v) for k, v in row["runs"].items()}
        op, target = row["target"]
        rows.append([case, f"{row['epochs']}", f"{med['plain']:,.0f}", f"{med['layerloom']:,.0f}",
                     ratio_text(row["ratio"]), verdict(row["ratio"]["median"], op, target),
                     f"{med['insights']:,.0f}", ratio_text(row["ratio_insights"]),
                     verdict(row["ratio_insights"]["median"], op, target)])
    header = ["model", "epochs", "plain samples/s", "Layerloom samples/s",
              "Layerloom / plain", f"target ≥ {target}", "with insights samples/s",
              "with insights / plain", f"target ≥ {target}"]
    return table(header, rows) + "\n\n" + recorded(list(newest.values()))


def editor_section(results: Path) -> str:
    newest = newest_by_case(read_rows("editor", results / "editor.jsonl"))
    if not newest:
        return _missing("editor",
                        "QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_editor.py")
    rows = []
    for row in newest.values():
        for what, m in row["measures"].items():
            target = m.get("target_ms")
            if "frames_ms" in m:
                frames = m["frames_ms"]
                value, judged = (f"{statistics.median(frames):.1f} / "
                                 f"{percentile(frames, 95):.1f} ms"), percentile(frames, 95)
            else:
                value, judged = f"{m['ms']:.1f} ms", m["ms"]
            goal = f"< {target:g} ms {verdict(judged, '<', target)}" if target else ""
            rows.append([what.strip(), value, goal])
    return table(["what", "time", "target"], rows) + "\n\n" + recorded(list(newest.values()))


def graph_scale_section(results: Path) -> str:
    all_rows = read_rows("graph_scale", results / "graph_scale.jsonl")
    newest = newest_by_case(all_rows)
    if not newest:
        return _missing("graph_scale", ".venv/bin/python bench/bench_graph_scale.py")
    rows = [[case, f"{row['nodes']:,}", f"{row['load_s']:.2f}", f"{row['validate_s']:.2f}",
             f"{row['summary_cold_s']:.2f}", f"{row['summary_s']:.2f}"]
            for case, row in newest.items()]
    header = ["shape", "nodes", "load s", "validate s", "summary, first s", "summary s"]
    return table(header, rows) + "\n\n" + recorded(list(newest.values()))


def latency_text(row: Row, judged: Callable[[str, float, str], str]) -> str:
    """From a step or epoch event's sending to the Training panel's plot having it, for
    the events that arrived while the panel was on screen."""
    events = row.get("plot_latency_events")
    if events == 0 or (events is None and row.get("watch") == "insights"):
        return "— (panel hidden)"
    if events is None:
        return "not measured"
    p99 = row["plot_latency_p99_ms"]
    text = (f"{row['plot_latency_p50_ms']:.1f} / {p99:.1f} / "
            f"{row['plot_latency_max_ms']:.1f} ms ({events}")
    undrawn = row.get("plot_latency_undrawn")
    text += f", {undrawn} never drawn)" if undrawn else ")"
    return judged("plot_latency_p99_ms", p99, text)


def window_section(results: Path) -> str:
    newest = newest_by_case(read_rows("window", results / "window.jsonl"))
    if not newest:
        return _missing("window", "QT_QPA_PLATFORM=offscreen .venv/bin/python "
                                  "bench/bench_window.py")
    rows = []
    for row in newest.values():
        def judged(key: str, value: float, text: str, row: Row = row) -> str:
            op, target = row["targets"][key]
            return f"{text} ({op} {target:g} {verdict(value, op, target)})"

        ratio = row["throughput"]
        epochs = len(row["window_runs"][0]["epoch_samples_per_s"])
        rows.append([row["case"], f"{epochs}, {row['run_threads']}",
                     judged("stall_p99_ms", row["stall_p99_ms"], f"{row['stall_p99_ms']:.1f} ms"),
                     judged("stall_max_ms", row["stall_max_ms"], f"{row['stall_max_ms']:.1f} ms"),
                     f"{row['stall_cpu_p99_ms']:.1f} / {row['stall_cpu_max_ms']:.1f} ms",
                     latency_text(row, judged),
                     f"{row['plot_hz']:.1f} Hz; paints {row['paint_hz']:.1f} Hz",
                     judged("throughput_ratio", ratio["median"], ratio_text(ratio)),
                     f"{row['gui_cpu_share']:.0%}"])
    header = ["example (platform)", "epochs, threads", "stall p99", "stall max",
              "GUI thread running in a gap, p99 / max",
              "new data → plot, p50 / p99 / max (events)", "plot refresh",
              "samples/s window / CLI", "window's CPU (of one core)"]
    return table(header, rows) + "\n\n" + recorded(list(newest.values()))


SECTIONS: dict[str, Section] = {
    "compile": compile_section, "shapes": shapes_section, "training": training_section,
    "editor": editor_section, "graph_scale": graph_scale_section,
    "examples": examples_section, "baselines": baselines_section,
    "gallery": gallery_section, "language": language_section,
    "window": window_section,
}


def render(text: str, results: Path = RESULTS) -> str:
    """``text`` with every marked section regenerated from the rows under ``results``."""
    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in SECTIONS:
            raise SystemExit(f"README.md marks a section 'bench:{name}' that "
                             f"bench/readme_tables.py does not know ({', '.join(SECTIONS)})")
        return f"{match[1]}{SECTIONS[name](results).rstrip()}\n{match[4]}"

    return MARKER.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 (showing the difference) if README.md is not what the "
                             "rows give")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    wanted = render(text, args.results)
    if args.check:
        if wanted == text:
            return 0
        diff = difflib.unified_diff(text.splitlines(), wanted.splitlines(),
                                    "README.md", "from bench/results", lineterm="", n=0)
        print("\n".join(list(diff)[:40]))
        print("README.md's figures differ from the recorded rows: run "
              "`.venv/bin/python bench/readme_tables.py`", file=sys.stderr)
        return 1
    if wanted != text:
        args.readme.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
