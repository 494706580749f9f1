"""The node editor with a generated 1,000-node network, offscreen, measured side by side.

The network is what users build, only longer: a ResNet-style tower (Conv2d /
BatchNorm2d / ReLU blocks with Add skips, a 1×1 Conv2d on the skip where a
stage widens, MaxPool2d between stages) followed by a residual MLP head
(Linear / ReLU / Linear / Add / LayerNorm). It is laid out by the editor's
auto-layout and folded into rows, saved to a temporary file and opened the
way File > Open does. Figures:

* **open → first paint**: from reading the file (the window is built and
  shown, torch not yet imported) to the first completed paint of the canvas
  with every node and wire;
* **open → shapes on screen**: until every node and wire item holds its shapes
  and the canvas has painted them (from the layers' shape rules, before torch
  has loaded); zoomed out this far the canvas draws its overview, which shows
  no labels, so that last paint is forced; then, for information, until torch
  has loaded in the background and every node shows its parameter count;
* **zoom / pan frames**: a wheel step or a middle-button drag step followed by a
  synchronous repaint of the canvas; zooming sweeps between the whole network
  (overview) and 100 % (items) and back; panning at both ends; median and 95th
  percentile;
* **edit → shapes on screen**: the Input's image size typed into the
  inspector and Return pressed, to the repaint of the canvas with every
  downstream node and wire updated; "first" is the first edit to a new size
  (torch runs for every new layer shape), "again" toggles between sizes it
  has seen (cached), and validation, which runs after a short pause, is shown
  on its own line.

The figures go to ``bench/results/editor.jsonl`` as one stamped row.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_editor.py [--nodes 1000]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit
from qt_wait import wait
from record import Recorder, add_results_argument

from graph.builder import NetworkBuilder
from graph.commands import Move
from graph.document import Document
from graph.fileformat import save_graph
from graph.layout import COLUMN_GAP, layered_positions
from gui.app import application, open_window
from gui.canvas.node_item import WIDTH
from gui.canvas.view import GraphView
from gui.main_window import MainWindow
from gui.session import Session
from gui.warmup import warmup

WINDOW = (1600, 1000)
ASPECT = 1.6  # the auto-layout's long line is folded into rows: a page about this wide
ROW_GAP = 120.0
NODE_HEIGHT = 90.0  # for the layout only; the editor measures its items


# -- the network ---------------------------------------------------------------------
def _conv_block(b: NetworkBuilder, x: str, channels: int, widen: bool) -> str:
    skip = b.add("Conv2d", x, out_channels=channels, kernel_size=1, padding=0) if widen else x
    h = b.add("Conv2d", x, out_channels=channels, kernel_size=3, padding=1)
    h = b.add("ReLU", b.add("BatchNorm2d", h))
    h = b.add("BatchNorm2d", b.add("Conv2d", h, out_channels=channels, kernel_size=3, padding=1))
    return b.add("ReLU", b.add("Add", skip, h))


def _mlp_block(b: NetworkBuilder, x: str, width: int) -> str:
    h = b.add("ReLU", b.add("Linear", x, out_features=width * 2))
    return b.add("LayerNorm", b.add("Add", x, b.add("Linear", h, out_features=width)))


def build_network(nodes: int) -> tuple[Document, str]:
    """About ``nodes`` nodes; returns the document and the id of the image Input."""
    doc = Document.new("main")
    b = NetworkBuilder(doc, "main")
    image = b.add("Input", shape=[3, 32, 32], label="image")
    x = b.add("ReLU", b.add("BatchNorm2d", b.add("Conv2d", image, out_channels=16,
                                                  kernel_size=3, padding=1)))
    conv_budget = int(nodes * 0.7)
    channels, stage = 16, 0
    net = doc.network("main")
    while len(net) < conv_budget:
        for block in range(10):
            x = _conv_block(b, x, channels, widen=block == 0 and stage > 0)
        stage += 1
        if stage <= 3:
            x = b.add("MaxPool2d", x, kernel_size=2)  # 32×32 → 4×4 at most
        channels = min(channels * 2, 128)
    x = b.add("Linear", b.add("Flatten", b.add("AdaptiveAvgPool2d", x, output_size=2)),
              out_features=128)
    while len(net) < nodes - 3:
        x = _mlp_block(b, x, 128)
    b.add("Output", b.add("Linear", b.add("ReLU", x), out_features=10))
    _fold_layout(doc)
    return doc, image


def _fold_layout(doc: Document) -> None:
    """The editor's auto-layout (one long line here), folded into rows like a page of text."""
    net = doc.network("main")
    sizes = {n.id: (WIDTH, NODE_HEIGHT) for n in net.nodes()}
    laid = layered_positions(net, sizes)
    top = min(y for _, y in laid.values())
    band = max(y for _, y in laid.values()) - top + NODE_HEIGHT + ROW_GAP
    pitch = WIDTH + COLUMN_GAP
    columns = round(max(x for x, _ in laid.values()) / pitch) + 1
    rows = max(1, round(math.sqrt(columns * pitch / (ASPECT * band))))
    row_width = pitch * math.ceil(columns / rows)
    folded = {i: (x % row_width, (y - top) + (x // row_width) * band)
              for i, (x, y) in laid.items()}
    Move("main", folded).apply(doc)


# -- measuring paints ----------------------------------------------------------------
class PaintProbe(QObject):
    """Paints the canvas itself (as Qt would) so it can time each completed paint."""

    def __init__(self, view: GraphView) -> None:
        super().__init__()
        self.view = view
        self.done: list[tuple[float, float]] = []  # (start, end) of each paint
        self.after: Callable[[float], None] | None = None
        view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Paint or watched is not self.view.viewport():
            return False
        start = time.perf_counter()
        self.view.viewportEvent(event)
        end = time.perf_counter()
        self.done.append((start, end))
        if self.after is not None:
            self.after(end)
        return True

    def repaint(self) -> float:
        """Repaint the canvas now; when it finished."""
        self.view.viewport().repaint()
        return self.done[-1][1]


@dataclass
class Results:
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    # what → the raw milliseconds and the target: the stamped row's figures
    raw: dict[str, dict[str, object]] = field(default_factory=dict)

    def add(self, what: str, value: str, target: str = "") -> None:
        self.rows.append((what, value, target))

    def add_frames(self, what: str, times: list[float], target_ms: float) -> None:
        ms = sorted(t * 1e3 for t in times)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        verdict = "ok" if p95 < target_ms else "MISSED"
        self.raw[what] = {"frames_ms": [t * 1e3 for t in times], "p95_ms": p95,
                          "target_ms": target_ms}
        self.add(what, f"{statistics.median(ms):7.1f} / {p95:7.1f} ms",
                 f"< {target_ms:g} ms  {verdict}")

    def add_time(self, what: str, seconds: float, target_ms: float | None) -> None:
        ms = seconds * 1e3
        self.raw[what] = {"ms": ms, "target_ms": target_ms}
        target = "" if target_ms is None else \
            f"< {target_ms:g} ms  {'ok' if ms < target_ms else 'MISSED'}"
        self.add(what, f"{ms:7.1f} ms", target)

    def add_median(self, what: str, seconds: list[float], target_ms: float | None) -> None:
        """The median of ``seconds``, with every sample kept in the row."""
        self.add_time(what, statistics.median(seconds), target_ms)
        self.raw[what]["samples_ms"] = [s * 1e3 for s in seconds]

    def print(self) -> None:
        width = max(len(r[0]) for r in self.rows)
        print(f"{'measure':<{width}}  {'value':>22}  target")
        print("-" * (width + 44))
        for what, value, target in self.rows:
            print(f"{what:<{width}}  {value:>22}  {target}")


# -- the three measurements ------------------------------------------------------------
def open_and_paint(path: Path, settings: QSettings,
                   results: Results) -> tuple[MainWindow, PaintProbe]:
    """(a) Open the file as the editor does at start-up; time the first paints."""
    marks: dict[str, float] = {}
    start = time.perf_counter()
    window = open_window(str(path), settings, autosave=False)
    view = window.current_view()
    session = window.session
    assert view is not None and session is not None
    probe = PaintProbe(view)  # before the first paint: that happens in the event loop
    scene = view.graph_scene
    net = session.doc.network("main")

    def after(end: float) -> None:
        if "first" not in marks and len(scene.nodes) == len(net) \
                and len(scene.edges) == len(net.edges()):
            marks["first"] = end

    def shapes_shown() -> bool:
        """Every item has its shapes: the next paint shows them (zoomed out, it may not
        paint by itself, as nothing it draws changed), so paint now."""
        if "shapes" not in marks and session.shapes_ready and not scene.stale.pending \
                and all(session.shape("main", edge.source).out is not None
                        and item.label for edge, item in scene.edges.items()):
            marks["shapes"] = probe.repaint()
        return "shapes" in marks

    probe.after = after
    warmup().ready.connect(lambda: marks.setdefault("torch", time.perf_counter()))
    if not wait(shapes_shown, 120.0, 5):
        raise SystemExit("the canvas never showed every shape")
    paints = [e - s for s, e in probe.done]

    def counted() -> bool:
        """Torch has loaded and every node's parameters are counted and painted."""
        if "counted" not in marks and session.shapes_complete and not scene.stale.pending \
                and not any(session.shape("main", n).pending for n in net.graph):
            marks["counted"] = probe.repaint()
        return "counted" in marks

    if not wait(counted, 120.0, 5):
        raise SystemExit("parameter counts never reached the canvas")
    wait(lambda: bool(session.diagnostics) or not session._validate_timer.isActive(), 5.0, 5)
    results.add_time("open → first paint of all nodes and wires", marks["first"] - start, 1500)
    results.add_time("open → shapes on screen (from shape rules)",
                     marks["shapes"] - start, 3000)
    results.add(f"  paints until then: {len(paints)}, longest", f"{max(paints) * 1e3:7.1f} ms")
    results.add_time("open → parameter counts on screen (torch loaded in background)",
                     marks["counted"] - start, None)
    results.add_time("  of which: open → torch imported and warmed", marks["torch"] - start,
                     None)
    if os.environ.get("BENCH_VERBOSE"):
        print([(round((s - start) * 1e3), round((e - s) * 1e3)) for s, e in probe.done], marks)
    probe.after = None
    return window, probe


def _wheel(view: GraphView, steps: int) -> None:
    centre = QPointF(view.viewport().rect().center())
    event = QWheelEvent(centre, view.viewport().mapToGlobal(centre), QPoint(),
                        QPoint(0, 120 * steps), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)


def _mouse(view: GraphView, kind: QEvent.Type, at: QPointF, button: Qt.MouseButton,
           buttons: Qt.MouseButton) -> None:
    event = QMouseEvent(kind, at, view.viewport().mapToGlobal(at), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), event)


def _frames(probe: PaintProbe, step: Callable[[int], None], count: int) -> list[float]:
    times = []
    for i in range(count):
        start = time.perf_counter()
        step(i)
        times.append(probe.repaint() - start)
    return times


def _pan_frames(view: GraphView, probe: PaintProbe, count: int) -> list[float]:
    """Middle-button drag: 30 px a step, round a square so the view comes back."""
    mid, none = Qt.MouseButton.MiddleButton, Qt.MouseButton.NoButton
    at = QPointF(view.viewport().rect().center())
    _mouse(view, QEvent.Type.MouseButtonPress, at, mid, mid)
    moves = [QPointF(30, 0), QPointF(0, 30), QPointF(-30, 0), QPointF(0, -30)]
    side = max(1, count // 4)

    def step(i: int) -> None:
        nonlocal at
        at = at + moves[(i // side) % 4]
        _mouse(view, QEvent.Type.MouseMove, at, none, mid)

    times = _frames(probe, step, count)
    _mouse(view, QEvent.Type.MouseButtonRelease, at, mid, none)
    return times


def navigate(window: MainWindow, probe: PaintProbe, results: Results, count: int) -> None:
    """(b) Wheel zoom and middle-button pan, each step followed by a synchronous repaint."""
    view = window.current_view()
    assert view is not None
    view.frame_all()
    probe.repaint()
    fit = view.zoom
    results.add(f"  whole network in view at zoom {fit:.2f}", "")
    direction = 1

    def zoom_step(_i: int) -> None:  # in up to 100 %, out to the whole network, …
        nonlocal direction
        if view.zoom >= 1.0 or view.zoom <= fit:
            direction = -1 if view.zoom >= 1.0 else 1
        _wheel(view, direction)

    results.add_frames(f"zoom frame (wheel step, {fit:.2f} ↔ 1.00) median / p95",
                       _frames(probe, zoom_step, count), 16)
    view.frame_all()
    probe.repaint()
    results.add_frames(f"pan frame at zoom {fit:.2f} median / p95",
                       _pan_frames(view, probe, count), 16)
    view.zoom_by(1.0 / view.zoom)
    view.centerOn(view.graph_scene.nodes_rect().center())
    probe.repaint()
    results.add_frames("pan frame at zoom 1.00 median / p95", _pan_frames(view, probe, count), 16)


def edit(window: MainWindow, probe: PaintProbe, image: str, results: Results,
         repeats: int) -> None:
    """(c) Type a new image size into the inspector; time until the canvas shows it."""
    view = window.current_view()
    session = window.session
    assert view is not None and session is not None
    scene = view.graph_scene
    scene.select_nodes([image])
    editor = window.inspector.editors["shape"]
    assert isinstance(editor, QLineEdit)  # the "ints" editor
    head = next(e for e in scene.edges if e.source == image)
    sizes = iter(range(36, 36 + 4 * 2 * repeats, 4))  # a new size for each first edit
    caught_up: list[float] = []  # until every off-screen item has caught up too

    def type_size(size: int) -> float:
        editor.setFocus()
        editor.selectAll()
        QTest.keyClicks(editor, f"3, {size}, {size}")
        start = time.perf_counter()
        QTest.keyClick(editor, Qt.Key.Key_Return)
        end = probe.repaint()
        label = f"N×3×{size}×{size}"
        assert scene.overview_on or scene.edges[head].label == label, scene.edges[head].label
        wait(lambda: not scene.stale.pending, 10.0, 5)
        caught_up.append(time.perf_counter() - start)
        assert scene.edges[head].label == label, scene.edges[head].label
        return end - start

    def validation() -> float:
        start = time.perf_counter()
        session.validate_now()
        return time.perf_counter() - start

    for placement in ("1.00", "fit"):
        if placement == "fit":
            view.frame_all()
        else:
            view.zoom_by(1.0 / view.zoom)
            view.center_on_node(image)
        probe.repaint()
        # as many first edits as the figure's name promises a median of (one sample
        # was at the mercy of a single collection or background import)
        first = [type_size(next(sizes)) for _ in range(repeats)]
        again = [type_size(s) for s in (32, 28) * repeats]
        zoom = f"{view.zoom:.2f}" if placement == "fit" else placement
        results.add_median(f"edit → shapes on screen, zoom {zoom}, first (median)", first, 50)
        results.add_median(f"edit → shapes on screen, zoom {zoom}, again (median)", again, 50)
        results.add_median(f"  until every item off screen has caught up, zoom {zoom} (median)",
                           caught_up, None)
        caught_up.clear()
    results.add_time("  validation, run a moment after an edit", validation(), None)
    results.add_time("  shape inference alone (graph/), first edit", _inference_alone(
        session, image, [(3, 92, 92)]), None)
    results.add_time("  shape inference alone (graph/), again (median)", _inference_alone(
        session, image, [(3, 32, 32), (3, 28, 28)] * repeats), None)


def _inference_alone(session: Session, image: str, shapes: list[tuple[int, ...]]) -> float:
    """Edit and re-infer with no view listening: graph/'s share of an edit."""
    times = []
    before = session.doc.network("main").node(image).params["shape"]
    session.blockSignals(True)  # shapes_changed reaches no item
    try:
        for shape in shapes:
            start = time.perf_counter()
            session.doc.set_param("main", image, "shape", shape)
            session.shapes.update()
            times.append(time.perf_counter() - start)
        session.doc.set_param("main", image, "shape", before)
        session.shapes.update()
    finally:
        session.blockSignals(False)
    return statistics.median(times)


def _torch_import_alone() -> float:
    """``import torch`` plus one meta-device layer in a fresh process: the floor for (a)."""
    code = ("import time; t = time.perf_counter(); import torch\n"
            "with torch.device('meta'): torch.nn.ReLU()(torch.zeros(2, 4))\n"
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=64, help="frames per navigation figure")
    parser.add_argument("--repeats", type=int, default=5, help="edits per edit figure")
    add_results_argument(parser, "editor")
    args = parser.parse_args()
    if "torch" in sys.modules:
        raise SystemExit("torch is already imported: the start-up figure would be wrong")
    with Recorder("editor", args.results) as rec:
        results = measure(args.nodes, args.frames, args.repeats)
        rec.row(case=f"{args.nodes} nodes", nodes=args.nodes, frames=args.frames,
                repeats=args.repeats, platform=os.environ.get("QT_QPA_PLATFORM", ""),
                measures=results.raw)
    results.print()


def measure(nodes: int, frames: int, repeats: int) -> Results:
    """Every figure, in the order the table prints them."""
    app = application()
    doc, image = build_network(nodes)
    net = doc.network("main")
    results = Results()
    results.add(f"network: {len(net)} nodes, {len(net.edges())} edges", "")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.loom"
        save_graph(doc, path)
        settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)
        window, probe = open_and_paint(path, settings, results)
        navigate(window, probe, results, frames)
        edit(window, probe, image, results, repeats)
        window.documents.confirm_discard = lambda: True  # type: ignore[method-assign]
        window.close()
    app.processEvents()
    results.add_time("reference: import torch + one meta layer, fresh process",
                     _torch_import_alone(), None)
    return results


if __name__ == "__main__":
    main()
