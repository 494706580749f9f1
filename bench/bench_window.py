"""The window while a run streams everything: event-loop stalls, plot refresh, throughput.

A ``MainWindow`` opens a copy of an example (``mlp_moons``, ``cnn_digits``) and trains
it with Training > Train, as a user does: the run streams its step and epoch events and
every epoch probe (activations, decision boundary, feature maps, embeddings, …), the
Training panel plots them and the Insights dock switches its tabs every half second
(behind the Training dock; ``--watch insights`` raises the Insights dock over it, so
each tab draws what it receives when shown). Measured while the run trains:

* **stalls**: a 5 ms precise ``QTimer`` stamps each of its timeouts; a gap beyond 5 ms
  is time the event loop could not serve it (p99 and max; targets < 30 ms, < 100 ms);
* **new data → plot**: for each step and epoch event that reaches the Training panel
  while it is on screen, the time from the training process sending it (stamped in
  that process as it enters the queue) to the ``setData`` that gives the panel's loss
  or metrics curve its points (p50, p99, max; target p99 ≤ 50 ms);
* **plot refresh**: the times the Training panel's plots got new data (``setData`` on
  their curves, calls within 2 ms counted once) per second of training, and their
  paints (no target: the rate follows the run's events, a step event every 0.25 s);
* **throughput**: the samples/s of the run's epoch events against ``main.py train`` on
  the same file, with the same thread count, run right beside it (the order alternating
  over repeats); target ≥ 0.9.

One stamped row per example and platform goes to ``bench/results/window.jsonl``.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_window.py [--only mlp_moons]
        [--epochs N] [--threads 1] [--repeats 1]
    xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python bench/bench_window.py
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QWidget  # noqa: E402
from qt_wait import wait  # noqa: E402
from record import (  # noqa: E402
    Recorder,
    add_results_argument,
    ours_first,
    paired_ratio,
    percentile,
)

from gui.app import application, open_window  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402

if TYPE_CHECKING:
    from runtime.run_options import RunOptions

EXAMPLES = ROOT / "resources" / "examples"
TICK_MS = 5
KEPT_MS = 10.0  # gaps with a stall above this are stored in the row, the rest counted
TARGETS = {"stall_p99_ms": ("<", 30.0), "stall_max_ms": ("<", 100.0),
           "plot_latency_p99_ms": ("≤", 50.0), "throughput_ratio": ("≥", 0.9)}
SENT = "bench_sent_t"  # the wall-clock time the training process queued a step or epoch event


class StampedQueue:
    """The run's event queue, in the training process: step and epoch events leave it
    with the wall-clock time they were sent (a copy: the trainer's own dict stays as is)."""

    def __init__(self, events: Any) -> None:
        self.events = events

    def put(self, event: dict[str, Any]) -> None:
        if event.get("type") in ("step", "epoch"):
            event = {**event, SENT: time.time()}
        self.events.put(event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.events, name)


def stamped_child_main(doc_text: str, options: RunOptions, events: Any, stop: Any, pause: Any,
                       requests: Any = None) -> None:
    """The training process's entry point with its sent events stamped. A spawned child
    imports this script again (not running ``main``), so it finds this function, and its
    ``runtime.runner`` is the unpatched one."""
    from runtime import runner
    runner._child_main(doc_text, options, StampedQueue(events), stop, pause, requests)


class StallProbe:
    """A 5 ms timer that stamps its timeouts: the gaps beyond 5 ms are stalls.

    Each stamp also reads the GUI thread's CPU time, so a gap can be told apart: time
    the thread spent running (our code, Qt, painting) or time it waited for a core
    (other processes on a busy machine, the run's own process included)."""

    def __init__(self) -> None:
        self.stamps: list[tuple[float, float]] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(
            lambda: self.stamps.append((time.perf_counter(), time.thread_time())))

    def start(self) -> None:
        self.stamps.clear()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def gaps(self, since: float, until: float) -> list[tuple[float, float, float]]:
        """(start, stall ms, GUI-thread CPU ms) of each gap between timeouts in
        [since, until]; the stall is the gap less the 5 ms asked for."""
        inside = [s for s in self.stamps if since <= s[0] <= until]
        return [(a[0], max(0.0, (b[0] - a[0]) * 1e3 - TICK_MS), (b[1] - a[1]) * 1e3)
                for a, b in itertools.pairwise(inside)]


class PaintCounter(QObject):
    """Counts the paints of some widgets (the Training panel's plots)."""

    def __init__(self, widgets: list[QWidget]) -> None:
        super().__init__()
        self.times: list[float] = []
        self.widgets = widgets
        for widget in widgets:
            widget.viewport().installEventFilter(self)  # type: ignore[attr-defined]

    def stop(self) -> None:
        for widget in self.widgets:
            widget.viewport().removeEventFilter(self)  # type: ignore[attr-defined]

    def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.times.append(time.perf_counter())
        return False


Drawn = list[tuple[float, bool, float]]  # (wall-clock time, a step curve, its last x)


def count_refreshes(window: MainWindow) -> tuple[list[float], Drawn, Callable[[], None]]:
    """Stamps of every ``setData`` on a curve of the Training panel's plots (from now on),
    what each one drew on the loss and metrics plots, and how to stop counting. Counted
    at pyqtgraph's item, whatever panel code calls it."""
    stamps: list[float] = []
    drawn: Drawn = []
    panel = window.training_panel
    boxes = {widget.getPlotItem().getViewBox() for widget in panel.plot_widgets}
    curves = {panel.loss.plot.getViewBox(), panel.metrics.plot.getViewBox()}
    original = pg.PlotDataItem.setData

    def counted(item: pg.PlotDataItem, *args: Any, **kwargs: Any) -> None:
        box = item.getViewBox()
        if box in boxes:
            stamps.append(time.perf_counter())
        original(item, *args, **kwargs)
        if box in curves and item.xData is not None and len(item.xData):
            drawn.append((time.time(), str(item.name()).startswith("step "),
                          float(item.xData[-1])))

    pg.PlotDataItem.setData = counted

    def stop() -> None:
        pg.PlotDataItem.setData = original
    return stamps, drawn, stop


def plotted_x(event: dict[str, Any]) -> float:
    """Where the panel plots a step or epoch event's newest point (in epochs)."""
    if event["type"] == "epoch":
        return float(event["epoch"])
    trail = event.get("trail")
    if trail:
        return float(trail["at"][-1])
    return float(event["epoch"] - 1 + event["step"] / event["steps"])


def plot_latencies(sent: list[tuple[dict[str, Any], bool]],
                   drawn: Drawn) -> tuple[list[float], int]:
    """For each stamped event that arrived while the panel was on screen, ms from its
    sending to the first ``setData`` of a curve of its kind (step or epoch) that reached
    its point; and how many such events no ``setData`` ever drew."""
    latencies: list[float] = []
    undrawn = 0
    for event, on_screen in sent:
        if not on_screen or SENT not in event:
            continue
        step, x, at = event["type"] == "step", plotted_x(event), event[SENT]
        first = next((t for t, is_step, last in drawn
                      if t >= at and is_step == step and last >= x - 1e-9), None)
        if first is None:
            undrawn += 1
        else:
            latencies.append(round((first - at) * 1e3, 2))
    return latencies, undrawn


def per_second(stamps: list[float], since: float, until: float, merge_s: float = 0.002) -> float:
    """Distinct refreshes a second: stamps closer than ``merge_s`` are one refresh."""
    kept: list[float] = []
    for t in sorted(s for s in stamps if since <= s <= until):
        if not kept or t - kept[-1] > merge_s:
            kept.append(t)
    return len(kept) / max(until - since, 1e-9)


def _cycle_tabs(window: MainWindow) -> QTimer:
    """Switch the Insights dock to its next shown tab every half second."""
    window.insights_dock.show()
    window.insights_dock.raise_()
    tabs = window.insights

    def step() -> None:
        shown = [i for i in range(tabs.count()) if tabs.isTabVisible(i)]
        if shown:
            later = [i for i in shown if i > tabs.currentIndex()]
            tabs.setCurrentIndex(later[0] if later else shown[0])

    timer = QTimer()
    timer.setInterval(500)
    timer.timeout.connect(step)
    timer.start()
    return timer


def _worst(gaps: list[tuple[float, float, float]], events: list[tuple[float, dict[str, Any]]],
           count: int = 5) -> list[dict[str, Any]]:
    """The longest stalls, each with the GUI thread's CPU time in it and the events that
    arrived in it (what the window was handling)."""
    worst = sorted(gaps, key=lambda g: -g[1])[:count]
    return [{"stall_ms": round(stall, 1), "cpu_ms": round(cpu, 1),
             "events": sorted({str(e.get("type")) for t, e in events
                               if start <= t <= start + (stall + TICK_MS) / 1e3})}
            for start, stall, cpu in worst]


def window_run(window: MainWindow, probe: StallProbe, options: dict[str, Any],
               watch: str = "training") -> dict[str, Any]:
    """Train from the window once; the stalls, refreshes and epoch rates of that run.
    ``watch``: the dock on screen during the run ("training": the Training panel's
    plots; "insights": the Insights dock, so its tabs draw).

    Stalls count from the click on Train (starting the run is part of what a user
    waits through) to the run's last event."""
    from runtime import runner
    events: list[tuple[float, dict[str, Any]]] = []
    sent: list[tuple[dict[str, Any], bool]] = []  # step and epoch events, panel on screen
    panel = window.training_panel

    def arrived(event: dict[str, Any]) -> None:
        events.append((time.perf_counter(), event))
        if event.get("type") in ("step", "epoch"):
            sent.append((event, panel.on_screen and panel.isVisible()))

    window.training.reported.connect(arrived)
    refreshes, drawn, stop_counting = count_refreshes(window)
    unstamped = runner._child_main
    runner._child_main = stamped_child_main  # looked up when the run's process starts
    paints = PaintCounter(window.training_panel.plot_widgets)
    window.training.overrides = dict(options)
    tabs = _cycle_tabs(window)
    probe.start()
    clicked, cpu_at_click = time.perf_counter(), time.process_time()
    window.window_actions.train.trigger()
    # the dock watched, whichever Train raised (it keeps Insights when they are on screen)
    (window.insights_dock if watch == "insights" else window.training_dock).raise_()
    if not wait(lambda: window.training.active, 120) or not wait(
            lambda: not window.training.active, 1800):
        raise SystemExit("the window's run did not start or end")
    runner._child_main = unstamped
    gui_cpu_s = time.process_time() - cpu_at_click
    probe.stop()
    tabs.stop()
    paints.stop()
    stop_counting()
    window.training.reported.disconnect(arrived)
    kinds = [e.get("type") for _, e in events]
    if "finished" not in kinds:
        raise SystemExit(f"the window's run ended without finishing: {events[-1][1]}")
    started = next(t for t, e in events if e.get("type") == "started")
    finished = next(t for t, e in events if e.get("type") == "finished")
    gaps = probe.gaps(clicked, finished)
    epoch_rates = [e["samples_per_s"] for _, e in events if e.get("type") == "epoch"]
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[str(kind)] = counts.get(str(kind), 0) + 1
    # every gap counted; only those over 10 ms kept (thousands of short gaps a run)
    kept = [g for g in gaps if g[1] > KEPT_MS]
    latencies, undrawn = plot_latencies(sent, drawn)
    return {"gaps": len(gaps), "stalls_ms": [round(g[1], 2) for g in kept],
            "stall_cpu_ms": [round(g[2], 2) for g in kept], "worst": _worst(gaps, events),
            "epoch_samples_per_s": epoch_rates,
            "plot_refresh_hz": per_second(refreshes, started, finished),
            "plot_paint_hz": per_second(paints.times, started, finished),
            "plot_latency_ms": latencies, "plot_latency_undrawn": undrawn,
            "click_to_started_s": started - clicked, "started_to_finished_s": finished - started,
            "events": counts,
            # the window's own CPU (all its threads) over the run: what it takes from a
            # run that shares the machine's cores with it
            "gui_cpu_share": gui_cpu_s / max(time.perf_counter() - clicked, 1e-9)}


def cli_run(path: Path, options: dict[str, Any], out: Path) -> dict[str, Any]:
    """``main.py train`` on the same file: its epoch rates and wall time."""
    shutil.rmtree(out, ignore_errors=True)
    threads = options["threads"]
    extra = ["--epochs", str(options["epochs"])] if "epochs" in options else []
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "main.py"), "train", str(path), "--threads",
                    str(threads), "--out", str(out), "--json", *extra], check=True,
                   capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()
            if line.strip()]
    return {"epoch_samples_per_s": [r["samples_per_s"] for r in rows if "samples_per_s" in r],
            "wall_s": wall}


def measure(name: str, folder: Path, options: dict[str, Any], repeats: int,
            watch: str = "training") -> dict[str, Any]:
    """Window and command line, side by side, ``repeats`` times (the order alternating)."""
    path = folder / f"{name}.loom"
    shutil.copy(EXAMPLES / f"{name}.loom", path)  # the runs land beside the copy
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    window = open_window(str(path), settings, autosave=False)
    window.resize(1600, 1000)
    session = window.session
    assert session is not None
    if not wait(lambda: session.shapes_complete, 180):
        raise SystemExit("PyTorch never finished loading in the window")
    probe = StallProbe()
    runs: list[dict[str, Any]] = []
    clis: list[dict[str, Any]] = []
    for pair in range(repeats):
        if ours_first(pair):
            runs.append(window_run(window, probe, options, watch))
            clis.append(cli_run(path, options, folder / "cli"))
        else:
            clis.append(cli_run(path, options, folder / "cli"))
            runs.append(window_run(window, probe, options, watch))
    window.documents.confirm_discard = lambda: True  # type: ignore[method-assign]
    window.close()
    return summarise(runs, clis)


def summarise(runs: list[dict[str, Any]], clis: list[dict[str, Any]]) -> dict[str, Any]:
    """The row: percentiles over every gap (the ones not kept count as 0 ms)."""
    untold = sum(r["gaps"] - len(r["stalls_ms"]) for r in runs)
    stalls = [0.0] * untold + [s for run in runs for s in run["stalls_ms"]]
    cpu = [0.0] * untold + [s for run in runs for s in run["stall_cpu_ms"]]
    ours = [statistics.median(r["epoch_samples_per_s"]) for r in runs]
    theirs = [statistics.median(c["epoch_samples_per_s"]) for c in clis]
    latencies = [ms for r in runs for ms in r["plot_latency_ms"]]
    return {"window_runs": runs, "cli_runs": clis,
            "stall_p99_ms": percentile(stalls, 99), "stall_max_ms": max(stalls),
            "stall_cpu_p99_ms": percentile(cpu, 99), "stall_cpu_max_ms": max(cpu),
            "plot_hz": statistics.median(r["plot_refresh_hz"] for r in runs),
            "paint_hz": statistics.median(r["plot_paint_hz"] for r in runs),
            # None where no event reached the panel on screen (another dock over it)
            "plot_latency_events": len(latencies),
            "plot_latency_undrawn": sum(r["plot_latency_undrawn"] for r in runs),
            "plot_latency_p50_ms": percentile(latencies, 50) if latencies else None,
            "plot_latency_p99_ms": percentile(latencies, 99) if latencies else None,
            "plot_latency_max_ms": max(latencies) if latencies else None,
            "gui_cpu_share": statistics.median(r["gui_cpu_share"] for r in runs),
            "throughput": paired_ratio(ours, theirs),
            "targets": {k: list(v) for k, v in TARGETS.items()}}


def latency_text(row: dict[str, Any]) -> str:
    if row["plot_latency_p99_ms"] is None:
        return "new data → plot: no event reached the panel on screen"
    return (f"new data → plot p50 {row['plot_latency_p50_ms']:.1f} ms, p99 "
            f"{row['plot_latency_p99_ms']:.1f} ms, max {row['plot_latency_max_ms']:.1f} ms "
            f"({row['plot_latency_events']} events, {row['plot_latency_undrawn']} never drawn)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=["mlp_moons", "cnn_digits"])
    parser.add_argument("--epochs", type=int, help="override the files' epoch budgets")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of both runs")
    parser.add_argument("--repeats", type=int, default=1, help="window/CLI pairs per example")
    parser.add_argument("--step-interval", type=float,
                        help="seconds between the run's step events (default: the app's)")
    parser.add_argument("--watch", choices=("training", "insights"), default="training",
                        help="the dock on screen during the run (Train raises Training's)")
    add_results_argument(parser, "window")
    args = parser.parse_args()
    app = application()
    platform = app.platformName()
    with Recorder("window", args.results) as rec, \
            tempfile.TemporaryDirectory() as tmp:
        options: dict[str, Any] = {"threads": args.threads}
        if args.epochs:
            options["epochs"] = args.epochs
        if args.step_interval:
            options["step_interval"] = args.step_interval
        for name in args.only:
            row = measure(name, Path(tmp), options, args.repeats, args.watch)
            case = f"{name} ({platform}" + (f", steps every {args.step_interval:g} s"
                                            if args.step_interval else "") + (
                ", Insights on screen)" if args.watch == "insights" else ")")
            rec.row(case=case, example=name, platform=platform, run_threads=args.threads,
                    epochs=args.epochs, step_interval=args.step_interval, watch=args.watch,
                    **row)
            print(f"{name} ({platform}): stalls p99 {row['stall_p99_ms']:.1f} ms, max "
                  f"{row['stall_max_ms']:.1f} ms (GUI thread running: p99 "
                  f"{row['stall_cpu_p99_ms']:.1f} ms, max {row['stall_cpu_max_ms']:.1f} ms); "
                  f"{latency_text(row)}; plots {row['plot_hz']:.1f} Hz (paints "
                  f"{row['paint_hz']:.1f} Hz); throughput window / CLI "
                  f"{row['throughput']['median']:.3f} "
                  f"({row['throughput']['min']:.3f}–{row['throughput']['max']:.3f}); the "
                  f"window used {row['gui_cpu_share']:.0%} of a core")
            for worst in row["window_runs"][0]["worst"]:
                print(f"  stall {worst['stall_ms']} ms, GUI thread ran {worst['cpu_ms']} ms, "
                      f"handling {', '.join(worst['events']) or 'no run event'}")


if __name__ == "__main__":
    main()
