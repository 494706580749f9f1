"""A few hundred graph-file mutants in every test run (``make fuzz`` runs 10,000): each
must load, validate, summarise and compile, or be refused with a GraphFileError or a
CompileError, within the time limit. The harness itself is checked to tell them apart."""

from __future__ import annotations

import time
from pathlib import Path

from tests.fuzz import graph_target
from tests.fuzz.harness import Mutant, Report, Seed, Target, fuzz

CASES = 200
LIMIT = 10.0  # seconds per case (torch is imported before, by the target's warm-up)


def _failures(report: Report) -> str:
    return "\n".join(f"case {c.index} ({c.seed}: {c.what}) {c.outcome}: {c.error}"
                     for c in report.escapes + report.hangs)


def test_graph_mutants_only_raise_the_projects_errors() -> None:
    report = fuzz(graph_target.target(), CASES, seed=0, limit=LIMIT)
    assert report.cases == CASES
    assert not report.escapes and not report.hangs, _failures(report)
    # Both halves of the mutator are exercised: refused files and ones that go deeper.
    assert report.outcomes["refused"] > CASES // 4 and report.outcomes["fine"] > CASES // 10


def _fake(run: object) -> Target:
    seed = Seed("fake", b"{}", "x.json")
    return Target("fake", lambda: [seed], lambda s, rng: Mutant(s, "same", s.data),
                  run, (ValueError,))  # type: ignore[arg-type]


def test_the_harness_tells_refusals_escapes_and_hangs_apart() -> None:
    def refuse(path: Path) -> None:
        raise ValueError(path.name)

    def escape(path: Path) -> None:
        raise KeyError(path.read_text())

    def hang(path: Path) -> None:
        time.sleep(5)

    assert fuzz(_fake(refuse), 2).outcomes == {"refused": 2}
    report = fuzz(_fake(escape), 1)
    assert report.outcomes == {"escape": 1} and "KeyError: '{}'" in report.escapes[0].error
    start = time.perf_counter()
    assert fuzz(_fake(hang), 1, limit=0.2).outcomes == {"hang": 1}
    assert time.perf_counter() - start < 2


def test_mutants_are_reproducible() -> None:
    from tests.fuzz.harness import make

    target = graph_target.target()
    seeds = target.seeds()
    assert make(target, seeds, 0, 17) == make(target, seeds, 0, 17)
    assert make(target, seeds, 0, 17) != make(target, seeds, 0, 18)


def test_found_by_fuzzing_the_summary_of_an_empty_network(tmp_path: Path) -> None:
    """Case 2472 of the long run: a network left without nodes made 'layerloom summary'
    fail with "unexpected TypeError" (a table width of no rows)."""
    import contextlib
    import io

    from graph import Document, save_graph
    from runtime.cli import EXIT_OK, main

    path = tmp_path / "empty.loom"
    save_graph(Document.new(), path)
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(err):
        assert main(["summary", str(path)]) == EXIT_OK, err.getvalue()
    assert "Network 'main'" in out.getvalue() and "Total params: 0" in out.getvalue()
