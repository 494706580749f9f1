"""A small mutation-fuzzing harness: targets plug in, cases are reproducible, and every
case ends as fine, refused (one of the target's own error types), an escape (any other
exception) or a hang (over the time limit).

A target names its seed inputs and how to mutate and run one. Case ``i`` of a target
draws from ``random.Random(f"{target}:{seed}:{i}")``, so any case can be replayed alone:

    python -m tests.fuzz.run --kind graph --replay 4711 --save /tmp/case
"""

from __future__ import annotations

import contextlib
import random
import resource
import signal
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

MEMORY_PER_CASE = 3 << 30  # bytes a case may map beyond what the process already has


@dataclass(frozen=True)
class Seed:
    """A real input to start from: its name, its bytes and the file name to write it as."""

    name: str
    data: bytes
    filename: str


@dataclass(frozen=True)
class Mutant:
    seed: Seed
    what: str  # how it was made, for a report
    data: bytes


@dataclass(frozen=True)
class Target:
    """One kind of input: where its seeds come from, how to mutate one, how to run it.

    ``run`` gets the mutant written to a file of the seed's name in an empty folder and
    may raise only ``allowed`` errors; anything else is an escape.
    """

    name: str
    seeds: Callable[[], Sequence[Seed]]
    mutate: Callable[[Seed, random.Random], Mutant]
    run: Callable[[Path], object]
    allowed: tuple[type[BaseException], ...]
    # Run once before the cases, untimed: one-time imports (torch) are not a hang.
    warm_up: Callable[[], object] = lambda: None


@dataclass(frozen=True)
class Case:
    index: int
    seed: str
    what: str
    outcome: str  # "fine", "refused", "escape" or "hang"
    seconds: float
    error: str = ""  # for an escape: its type, message and the last frames


@dataclass
class Report:
    target: str
    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    escapes: list[Case] = field(default_factory=list)
    hangs: list[Case] = field(default_factory=list)
    slowest: float = 0.0

    def add(self, case: Case) -> None:
        self.cases += 1
        self.outcomes[case.outcome] += 1
        self.slowest = max(self.slowest, case.seconds)
        if case.outcome == "escape":
            self.escapes.append(case)
        elif case.outcome == "hang":
            self.hangs.append(case)

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        return (f"{self.target}: {self.cases} mutants ({parts}); escapes {len(self.escapes)}, "
                f"hangs {len(self.hangs)}; slowest case {self.slowest:.2f} s")


class _TimedOut(BaseException):
    """Raised in the case by the alarm; a BaseException so no ``except Exception`` in
    the code under test swallows it."""


@contextlib.contextmanager
def _memory_cap(extra: int) -> Iterator[None]:
    """Let the case map at most ``extra`` more bytes, so an allocation without bound
    fails as an error in the case instead of the kernel killing the whole run."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            used = int(f.read().split()[0]) * resource.getpagesize()
    except OSError:  # not Linux: no cap
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = used + extra if hard == resource.RLIM_INFINITY else min(hard, used + extra)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise _TimedOut

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def rng_for(target: str, seed: int, index: int) -> random.Random:
    return random.Random(f"{target}:{seed}:{index}")


def make(target: Target, seeds: Sequence[Seed], seed: int, index: int) -> Mutant:
    rng = rng_for(target.name, seed, index)
    return target.mutate(rng.choice(seeds), rng)


def run_case(target: Target, mutant: Mutant, index: int, limit: float) -> Case:
    """Run one mutant in a fresh folder and say how it ended."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        path = Path(folder) / mutant.seed.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(mutant.data)
        start = time.perf_counter()
        outcome, error = "fine", ""
        try:
            with _memory_cap(MEMORY_PER_CASE), _time_limit(limit):
                target.run(path)
        except _TimedOut:
            outcome = "hang"
        except target.allowed:
            outcome = "refused"
        except Exception as exc:  # the very thing a fuzzer looks for
            outcome = "escape"
            frames = "".join(traceback.format_tb(exc.__traceback__)[-3:])
            error = f"{type(exc).__name__}: {str(exc)[:300]}\n{frames}"
        seconds = time.perf_counter() - start
    if seconds > limit:  # stuck in C code, where the alarm cannot interrupt
        outcome = "hang"
    return Case(index, mutant.seed.name, mutant.what, outcome, seconds, error)


def fuzz(target: Target, count: int, seed: int = 0, limit: float = 20.0,
         first: int = 0, on_case: Callable[[Case], None] | None = None) -> Report:
    """Run cases ``first`` … ``first + count - 1`` of ``target``."""
    seeds = target.seeds()
    target.warm_up()
    report = Report(target.name)
    for index in range(first, first + count):
        case = run_case(target, make(target, seeds, seed, index), index, limit)
        report.add(case)
        if on_case is not None:
            on_case(case)
    return report
