"""The README's "Language models" figures, from the rows ``bench_examples`` records.

Per-seed losses, seconds and loads come from the newest row per (example, seed, kind) of
``examples.jsonl`` (``readme_examples.runs``), the ten-minute runs from
``examples_long.jsonl``. Every verdict in the prose (targets, the 90 s budget, whether the
two loops ran under the same load) is computed here, so it stays true whatever the rows say.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from bench_examples import TARGETS
from readme_examples import Key, Row, runs
from record import read_rows, stamped, verdict

MODELS = {"gpt_shakespeare": "GPT", "lstm_shakespeare": "LSTM"}
BUDGET_S = 90.0  # the time a gallery example may take, start-up and evaluation included
QUIET_LOAD = 1.5  # a load average above this on the 2-core machine means other jobs ran
NARROW = 0.02  # a median within 2% of its target meets it "narrowly"
SHORT = 0.05  # a seed this far past the target "falls 5% short"
# Cited from nanoGPT's README (karpathy/nanoGPT), not measured here: its CPU settings and
# its 6-layer "baby GPT" on an A100, as the prose above the section says.
NANOGPT = [(1.88, "the 1.88 nanoGPT's CPU settings report after about 3 minutes"),
           (1.4697, "the 1.4697 of its 6-layer GPT on a GPU")]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _seeds(rows: dict[Key, Row], name: str, kind: str) -> list[Row]:
    return [rows[k] for k in sorted(rows) if k[0] == name and k[2] == kind]


def _load(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _loads(rows: list[Row]) -> tuple[float, float] | None:
    values = [float(r[k]) for r in rows if stamped(r) for k in ("load_before", "load_after")
              if r.get(k) is not None]
    return (min(values), max(values)) if values else None


def _commits(rows: list[Row]) -> str:
    marks = sorted({f"`{r['commit']}`" for r in rows if stamped(r)})
    old = sum(not stamped(r) for r in rows)
    return _and(marks + ([f"{old} unstamped older rows (no commit or load)"] if old else []))


def _load_text(rows: list[Row]) -> str:
    span = _loads(rows)
    return f"load average {_load(span[0])}–{_load(span[1])}" if span else "load not recorded"


def _quiet(rows: list[Row]) -> bool | None:
    span = _loads(rows)
    return None if span is None else span[1] <= QUIET_LOAD


def _losses(rows: list[Row]) -> list[float]:
    return [float(r["metrics"]["val_loss"]) for r in rows if "val_loss" in r["metrics"]]


def _target_clause(ours: dict[str, list[Row]]) -> str:
    """Whether each median meets its target, and whether any seed falls 5% short."""
    judged, short = [], []
    for name, rows in ours.items():
        (metric, op, target), = TARGETS[name]
        values = [float(r["metrics"][metric]) for r in rows]
        median = float(statistics.median(values))
        judged.append((MODELS[name], median, op, target, verdict(median, op, target) == "met"))
        limit = target * (1 + SHORT) if op in "≤<" else target * (1 - SHORT)
        short += [f"the {MODELS[name]}'s seed {r['seed']}: {v:.3f}"
                  for r, v in zip(rows, values, strict=True) if verdict(v, op, limit) == "missed"]
    if all(met for *_, met in judged):
        narrow = all(abs(m - t) <= NARROW * t for _, m, _, t, _ in judged)
        text = ("both medians meet their targets" if len(judged) > 1 else
                "the median meets its target") + (", narrowly" if narrow else "")
    else:
        text = "; ".join(f"the {label}'s median {'meets' if met else 'misses'} its target "
                         f"({m:.3f} against {op} {t:.2f}{'' if met else ': missed'})"
                         for label, m, op, t, met in judged)
    return text + (f", and {len(short)} seed(s) fall more than 5% short ({'; '.join(short)})"
                   if short else ", and no seed falls 5% short")


def _budget(rows: list[Row]) -> str:
    seconds = [float(r["seconds"]) for r in rows]
    over = [s - BUDGET_S for s in seconds if s > BUDGET_S]
    if not over:
        return f"every run under {BUDGET_S:.0f} s"
    by = _and([f"{s:.1f}" if s >= 0.05 else f"{s:.2f}" for s in over])
    return f"{len(over)} of {len(seconds)} runs over the {BUDGET_S:.0f} s budget, by {by} s: missed"


def _same_as_before(path: Path, rows: list[Row]) -> str:
    """Whether earlier rows of the same (example, seed) gave the same losses."""
    chosen = {(r["example"], int(r["seed"]), r["kind"]): r for r in rows}
    gaps = [abs(float(r["metrics"]["val_loss"]) - float(chosen[k]["metrics"]["val_loss"]))
            for r in read_rows("examples", path)
            if (k := (r["example"], int(r["seed"]), r["kind"])) in chosen
            and r is not chosen[k] and r != chosen[k] and "val_loss" in r["metrics"]]
    if not gaps:
        return ""
    if max(gaps) < 5e-4:
        return ", with the same losses as the earlier runs of these seeds"
    return f"; the earlier runs of these seeds differed in loss by up to {max(gaps):.3f}"


def _losses_paragraph(ours: dict[str, list[Row]], plain: dict[str, list[Row]]) -> str:
    rows = [r for group in (*ours.values(), *plain.values()) for r in group]
    threads = sorted({int(r["threads"]) for r in rows if stamped(r) and r["threads"]})
    thread_text = "one thread" if threads == [1] else \
        f"{_and([str(t) for t in threads])} threads" if threads else "threads not recorded"
    beside = ", beside the plain loop" if any(plain.values()) else ""
    parts = []
    for i, (name, group) in enumerate(ours.items()):
        losses = _and([f"{v:.3f}" for v in _losses(group)])
        theirs = ", ".join(f"{v:.3f}" for v in _losses(plain.get(name, [])))
        parts.append(f"the {MODELS[name]} {'reaches ' if i == 0 else ''}{losses}"
                     f"{' nats per character' if i == 0 else ''}"
                     f"{f' (plain loop {theirs})' if theirs else ''}")
    return (f"Three seeds each (`bench/bench_examples.py`, {thread_text}{beside}; the table in "
            f"[Example gallery](#example-gallery)): {', '.join(parts)}: "
            f"{_target_clause(ours)}.")


def _times_paragraph(path: Path, ours: dict[str, list[Row]], plain: dict[str, list[Row]]) -> str:
    mine = [r for group in ours.values() for r in group]
    theirs = [r for group in plain.values() for r in group]
    commands = sorted({r["command"] for r in mine if stamped(r)})
    command = f"`{commands[0].removeprefix('python ')}`, " if len(commands) == 1 else ""
    quiet, plain_quiet = _quiet(mine), _quiet(theirs)
    cores = sorted({int(r["cores"]) for r in mine + theirs if r.get("cores")})
    machine = f"this {cores[0]}-core machine" if len(cores) == 1 else "the machine"
    where = {True: " on a quiet machine", False: f" while other jobs loaded {machine}",
             None: ""}
    again = _same_as_before(path, mine)
    times = [f"{_and([format(r['seconds'], '.1f') for r in group])} s for the {MODELS[name]}"
             f"{', start-up and the held-out evaluation included' if i == 0 else ''} "
             f"({_budget(group)})" for i, (name, group) in enumerate(ours.items())]
    text = (f"The Layerloom runs{' were repeated' if again else ' ran'}{where[quiet]} "
            f"({command}{_load_text(mine)}; rows of {_commits(mine)}): `layerloom train` took "
            f"{', and '.join(times)}{again}.")
    if not theirs:
        return text
    earlier = " earlier" if max(r.get("date", "") for r in theirs) < \
        min(r.get("date", "~") for r in mine) else ""
    spans = "; ".join(f"{min(r['seconds'] for r in group):.0f}–"
                      f"{max(r['seconds'] for r in group):.0f} s for the {MODELS[name]}"
                      for name, group in plain.items() if group)
    ratios = "the time ratios in the gallery table"
    pairings: dict[tuple[bool | None, bool | None], str] = {
        (True, True): f"both quiet, so {ratios} compare like with like",
        (True, False): f"so {ratios} pair a quiet run with a loaded one and say nothing about "
                       "speed",
        (False, True): f"so {ratios} pair a loaded run with a quiet one and say nothing about "
                       "speed",
        (False, False): f"both under load, so {ratios} are rough"}
    pairing = pairings.get((quiet, plain_quiet),
                           f"so {ratios} pair runs whose loads are not all recorded")
    return (f"{text} The plain loop's runs were recorded{earlier}{where[plain_quiet]} "
            f"({_load_text(theirs)}; {spans}; rows of {_commits(theirs)}), {pairing}.")


def _versus(long: dict[str, Row]) -> str:
    losses = {MODELS[n]: float(r["metrics"]["val_loss"]) for n, r in long.items()}
    parts = []
    for cited, what in NANOGPT:
        side = {label: "below" if loss < cited else "above" for label, loss in losses.items()}
        if len(set(side.values())) == 1:
            parts.append(f"{next(iter(side.values()))} {what}")
        else:
            parts.append(f"{what}: " + ", ".join(f"the {k} {v}" for k, v in side.items()))
    subject = "Both are" if len(losses) > 1 else "It is"
    return f"{subject} {' and '.join(parts)}"


def _long_load(row: Row) -> str:
    if not stamped(row):
        return "not recorded"
    return f"{_load(float(row['load_before']))} → {_load(float(row['load_after']))}"


def _long_paragraph(path: Path) -> str:
    rows = runs(path)
    long = {n: rows[k] for n in MODELS for k in sorted(rows)
            if k[0] == n and k[2] == "layerloom"}
    if not long:
        return (f"No ten-minute rows in `{path.name}` yet: run `.venv/bin/python "
                "bench/bench_examples.py --long`.")
    epochs = _and([f"{r['metrics'].get('epochs', '?')} for the {MODELS[n]}"
                   for n, r in sorted(long.items(), key=lambda item: item[0], reverse=True)])
    seeds = len({k[1] for k in rows if k[0] in MODELS})
    reached = [f"the {MODELS[n]} {'reaches ' if i == 0 else ''}{r['metrics']['val_loss']:.3f}"
               f"{' nats per character' if i == 0 else ''} ({r['seconds']:.0f} s, "
               f"{'load average ' if i == 0 else 'load '}{_long_load(r)})"
               for i, (n, r) in enumerate(long.items())]
    train = {n: float(r["metrics"]["train_loss"]) for n, r in long.items()
             if "train_loss" in r["metrics"]}
    gaps = [float(long[n]["metrics"]["val_loss"]) - t for n, t in train.items()]
    memory = "" if not gaps else \
        "well below the held-out ones: these small models have begun to learn the training " \
        "text by heart" if min(gaps) >= 0.1 else "below the held-out ones" if min(gaps) > 0 \
        else "not below the held-out ones"
    own = f"; their losses on the training text ({_and([f'{t:.2f}' for t in train.values()])}) " \
        f"are {memory}" if train else ""
    seed_text = "one seed" if seeds == 1 else f"{seeds} seeds"
    return (f"With a longer budget (`bench/bench_examples.py --long`: the same files with more "
            f"epochs, {epochs}, planned as about ten minutes of training each on this machine, "
            f"the one-cycle schedule spanning the whole run; {seed_text}; "
            f"`bench/results/{path.name}`, rows of {_commits(list(long.values()))}): "
            f"{' and '.join(reached)}. {_versus(long)}{own}.")


def _baselines(rows: list[Row]) -> str:
    """The unigram and bigram losses the Metrics item of the README points to."""
    found = [(float(r["metrics"]["baseline_unigram_loss"]),
              float(r["metrics"]["baseline_bigram_loss"])) for r in rows
             if {"baseline_unigram_loss", "baseline_bigram_loss"} <= r["metrics"].keys()]
    if not found:
        return ""
    unigram, bigram = found[-1]
    return (f" For scale, the add-one-smoothed unigram and bigram models counted on the "
            f"training text score {unigram:.2f} and {bigram:.2f} nats per character on the same "
            f"held-out text.")


def language_section(results: Path) -> str:
    """The measured part of the README's "Language models" section."""
    path = results / "examples.jsonl"
    rows = runs(path)
    ours = {n: g for n in MODELS if (g := _seeds(rows, n, "layerloom"))
            and all("val_loss" in r["metrics"] for r in g)}
    plain = {n: _seeds(rows, n, "plain") for n in ours}
    if not ours:
        return ("No rows for the language models in `examples.jsonl` yet: run `.venv/bin/python "
                "bench/bench_examples.py --only gpt_shakespeare lstm_shakespeare`.")
    baselines = _baselines([r for g in ours.values() for r in g])
    return (f"{_losses_paragraph(ours, plain)}{baselines} "
            f"{_times_paragraph(path, ours, plain)}\n\n"
            f"{_long_paragraph(results / 'examples_long.jsonl')}")
