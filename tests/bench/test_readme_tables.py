"""The README's benchmark sections are generated from the recorded rows, and a figure
edited by hand fails the check (on a copy: the real README is never touched)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import readme_tables  # noqa: E402
from record import paired_ratio  # noqa: E402

STAMP = {"bench": "compile", "commit": "abc1234", "date": "2026-12-06T23:00:00+00:00",
         "python": "3.11.7", "torch": "2.13.0", "threads": 1, "cores": 2,
         "load_before": 0.5, "load_after": 0.6, "command": "python bench/bench_compile.py"}


def _compile_row(case: str, compiled: list[float], generated: list[float]) -> dict[str, object]:
    written = [g * 0.9 for g in generated]
    return {**STAMP, "case": case, "batch": 64, "rounds": len(compiled), "steps": 10,
            "unit": "ms per step",
            "runs": {"compiled": compiled, "generated": generated, "hand_written": written},
            "ratio_generated": paired_ratio(compiled, generated),
            "ratio_hand_written": paired_ratio(compiled, written), "target": ["≤", 1.02]}


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    results = tmp_path / "results"
    shutil.copytree(ROOT / "bench" / "results", results)
    rows = [_compile_row("mlp", [1.0, 1.1, 1.0], [1.0, 1.0, 1.0]),
            _compile_row("cnn", [2.0, 2.2, 2.0], [2.0, 2.0, 2.0])]
    (results / "compile.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    readme = tmp_path / "README.md"
    readme.write_text((ROOT / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    return readme, results


def test_generated_readme_passes_and_a_hand_edited_figure_fails(tmp_path: Path) -> None:
    readme, results = _setup(tmp_path)
    args = ["--readme", str(readme), "--results", str(results)]
    assert readme_tables.main(args) == 0  # regenerate the copy
    text = readme.read_text(encoding="utf-8")
    assert "<!-- bench:compile -->" in text
    assert "| mlp | 1.000 | 1.000 | 0.900 | 1.000 (1.000–1.100, 3 pairs) | ≤ 1.02 met |" in text
    assert "| cnn | 2.000 | 2.000 | 1.800 | 1.000 (1.000–1.100, 3 pairs) | ≤ 1.02 met |" in text
    assert readme_tables.main(["--check", *args]) == 0
    readme.write_text(text.replace("| mlp | 1.000 | 1.000 |", "| mlp | 0.900 | 1.000 |"),
                      encoding="utf-8")
    assert readme_tables.main(["--check", *args]) == 1


def test_a_missed_target_says_missed(tmp_path: Path) -> None:
    readme, results = _setup(tmp_path)
    slow = _compile_row("mlp", [1.2, 1.3, 1.25], [1.0, 1.0, 1.0])
    with (results / "compile.jsonl").open("a") as out:
        out.write(json.dumps({**slow, "date": "2026-12-06T23:30:00+00:00"}) + "\n")
    readme_tables.main(["--readme", str(readme), "--results", str(results)])
    text = readme.read_text(encoding="utf-8")
    assert "| mlp | 1.250 | 1.000 | 0.900 | 1.250 (1.200–1.300, 3 pairs) | ≤ 1.02 missed |" in text
    assert "Recorded 2026-12-06 23:30 UTC at `abc1234`" in text  # the newest run of mlp


def test_unstamped_example_rows_are_labelled(tmp_path: Path) -> None:
    readme, results = _setup(tmp_path)
    old = {"example": "mlp_moons", "seed": 0, "kind": "layerloom", "seconds": 6.0,
           "metrics": {"test_accuracy": 0.98}}
    (results / "examples.jsonl").write_text(json.dumps(old) + "\n")
    readme_tables.main(["--readme", str(readme), "--results", str(results)])
    assert "1 unstamped older rows: no commit, date, threads or load recorded" in \
        readme.read_text(encoding="utf-8")


def _example_row(seed: int, accuracy: float) -> dict[str, object]:
    return {**STAMP, "bench": "examples", "example": "mlp_iris", "seed": seed,
            "kind": "layerloom", "seconds": 7.0,
            "metrics": {"test_accuracy": accuracy, "samples": 45}}


def test_gallery_figures_come_from_the_rows_and_a_hand_edited_one_fails(tmp_path: Path) -> None:
    readme, results = _setup(tmp_path)
    rows = [_example_row(0, 1.0), _example_row(1, 0.9556), _example_row(2, 0.9778),
            {**_example_row(1, 0.5), "kind": "plain"}]  # the plain loop's is not the gallery's
    (results / "examples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["--readme", str(readme), "--results", str(results)]
    assert readme_tables.main(args) == 0
    text = readme.read_text(encoding="utf-8")
    row = "| `mlp_iris.loom` | feedforward | iris, standardised | 97.8% (45 test flowers; worst " \
          "seed 95.6%) |"
    assert row in text
    assert "what it reaches (median of 3 training seeds)" in text
    assert "| `mlp_moons.loom` | feedforward | moons, noise 0.2 (3,000 points) | no rows yet: " \
           "run `.venv/bin/python bench/bench_examples.py --only mlp_moons` |" in text
    assert readme_tables.main(["--check", *args]) == 0
    readme.write_text(text.replace(row, row.replace("97.8%", "98.9%")), encoding="utf-8")
    assert readme_tables.main(["--check", *args]) == 1
