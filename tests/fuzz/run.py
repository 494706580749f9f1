"""Run the fuzz targets: ``make fuzz`` runs the long version.

    python -m tests.fuzz.run [--graphs 10000] [--others 1000] [--kind graph ...]
        [--seed 0] [--limit 20] [--replay INDEX --save FOLDER]

Prints one line per target with the counts of mutants, escapes and hangs, then each
escape and hang with its case index (replay it with ``--kind K --replay I``). Exits 1
when anything escaped or hung.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.fuzz.harness import Case, fuzz, make, run_case
from tests.fuzz.targets import TARGETS


def _show(kind: str, case: Case) -> str:
    return (f"  {kind} case {case.index} ({case.seed}: {case.what}) {case.outcome} after "
            f"{case.seconds:.1f} s\n    " + case.error.replace("\n", "\n    "))


def _progress(kind: str) -> Callable[[Case], None]:
    """A line on stderr every 1,000 cases, so a long run shows where it is."""
    def report(case: Case) -> None:
        if case.index % 1000 == 999:
            print(f"{kind}: {case.index + 1} cases", file=sys.stderr, flush=True)
    return report


def _replay(kind: str, index: int, seed: int, limit: float, save: Path | None) -> int:
    target = TARGETS[kind]()
    mutant = make(target, target.seeds(), seed, index)
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        (save / mutant.seed.filename).write_bytes(mutant.data)
        print(f"wrote {save / mutant.seed.filename}")
    case = run_case(target, mutant, index, limit)
    print(_show(kind, case))
    return 1 if case.outcome in ("escape", "hang") else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__)
    parser.add_argument("--graphs", type=int, default=10_000, help="graph-file mutants")
    parser.add_argument("--others", type=int, default=1_000,
                        help="mutants of each other kind of input")
    parser.add_argument("--kind", nargs="*", choices=sorted(TARGETS), default=sorted(TARGETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=float, default=20.0, help="seconds a case may take")
    parser.add_argument("--replay", type=int, help="run one case of one --kind")
    parser.add_argument("--save", type=Path, help="with --replay: write the mutant here")
    args = parser.parse_args(argv)
    if args.replay is not None:
        return _replay(args.kind[0], args.replay, args.seed, args.limit, args.save)
    failed = False
    for kind in args.kind:
        count = args.graphs if kind == "graph" else args.others
        start = time.perf_counter()
        report = fuzz(TARGETS[kind](), count, seed=args.seed, limit=args.limit,
                      on_case=_progress(kind))
        print(f"{report.summary()}; {time.perf_counter() - start:.0f} s", flush=True)
        for case in report.escapes + report.hangs:
            print(_show(kind, case), flush=True)
        failed |= bool(report.escapes or report.hangs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
