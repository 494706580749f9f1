"""The Decision boundary tab: the model's predicted class over the plane of 2-D data.

During a run it draws the ``boundary`` records the run streams each epoch; at rest
it computes one on a worker thread from the last run's weights (or from fresh
weights before any run), so a learner sees where training starts and where it ended.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout

from graph.document import Document
from graph.fileformat import dumps, loads
from gui.background import BackgroundJob
from gui.insights import Insight
from gui.insights.at_rest import weights_text
from gui.panels.legend import legend_beside
from gui.panels.run_views import plot_widget
from gui.training import TrainingController

CLASS_COLOURS = ((59, 125, 216), (224, 123, 40), (47, 158, 110), (192, 57, 43),
                 (142, 108, 201), (125, 133, 148), (214, 175, 38), (31, 170, 190))
POINT_SIZE = 6


def class_colour(index: int) -> tuple[int, int, int]:
    return CLASS_COLOURS[int(index) % len(CLASS_COLOURS)]


def boundary_image(record: dict[str, Any]) -> np.ndarray:
    """RGBA cells (row-major, row 0 at the bottom): the class colour, paler where the
    model is less sure."""
    size = int(record["size"])
    classes = np.asarray(record["predicted"], dtype=np.int64).reshape(size, size)
    sure = np.asarray(record["confidence"], dtype=np.float32).reshape(size, size) / 100
    n = max(len(record.get("classes", [])), int(classes.max()) + 1)
    # a sure cell reaches 55% of its colour; a coin toss (1/n) stays near white
    strength = np.clip((sure - 1.0 / n) / (1.0 - 1.0 / n), 0.0, 1.0) * 0.55 + 0.1
    palette = np.asarray([class_colour(i) for i in range(n)], dtype=np.float32)
    rgb = 255.0 - (255.0 - palette[classes]) * strength[..., None]
    alpha = np.full((size, size, 1), 255.0, dtype=np.float32)
    return np.concatenate([rgb, alpha], axis=2).astype(np.uint8)


def _computed(doc: Document, weights: str | None, base_dir: Path | None) -> dict[str, Any] | None:
    """On a worker thread: the boundary of ``doc`` with ``weights`` (fresh if None)."""
    from runtime.inspect.boundary import boundary_of
    from runtime.inspect.model import inspect_model

    return boundary_of(inspect_model(doc, weights, base_dir))


class BoundaryInsight(Insight):
    """The predicted class over the plane (or the fitted curve), the data on top."""

    title = "Decision boundary"

    def __init__(self, controller: TrainingController) -> None:
        super().__init__(controller)
        self.widget = plot_widget("Decision boundary")
        self.plot = self.widget.getPlotItem()
        legend_beside(self.plot)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.curve = pg.PlotDataItem(pen=pg.mkPen((40, 40, 40), width=2))
        self.note = QLabel()
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.widget, 1)
        layout.addWidget(self.note)
        self.job = BackgroundJob(self, blocks_close=False)  # it only reads
        self.job.done.connect(self._computed)
        self.record: dict[str, Any] | None = None
        self.points: dict[str, Any] | None = None
        self.stale = True  # the view at rest needs computing again
        self._plane: tuple[Any, ...] | None = None  # the points and frame on the plot now
        self._weights: str | None = None  # what the view at rest was computed from
        controller.weights_saved.connect(self._weights_saved)

    # -- what applies ---------------------------------------------------------------
    def applies(self) -> bool:
        if self.session is None:
            return False
        return _mode(self.session.doc) is not None

    def clear(self) -> None:
        self.record = None
        self.points = None
        self.stale = True
        self._draw()
        self.note.setText("")
        if self.isVisible():
            self._compute_at_rest()

    # -- a run's records ------------------------------------------------------------
    def on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") != "boundary":
            return
        self.show_record(event)
        self.note.setText(f"Epoch {event['epoch']} of the run: the shading is the class the "
                          "network predicts there, paler where it is less sure.")

    def show_record(self, record: dict[str, Any]) -> None:
        """Draw ``record`` (keeping the points of an earlier one if it has none)."""
        if "points" in record:
            self.points = record["points"]
        self.record = record
        self.draw_when_seen("record", self._draw)

    # -- at rest --------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._compute_at_rest()

    def _weights_saved(self, _folder: object) -> None:
        self.stale = True

    def _compute_at_rest(self) -> None:
        if not (self.stale and self.applies()) or self.controller.active or self.job.running:
            return
        from gui.export_dialog import default_weights

        assert self.session is not None
        self.stale = False
        weights = self._weights = default_weights(self.session) or None
        base = self.session.path.parent if self.session.path is not None else None
        doc = loads(dumps(self.session.doc))  # a snapshot: the worker never sees edits
        self.note.setText("Computing the boundary…")
        self.job.start(_computed, doc, weights, base, name="boundary")

    def _computed(self, record: dict[str, Any] | None, error: BaseException | None) -> None:
        if self.controller.active:
            return  # a run started meanwhile: its records take over
        if error is not None or record is None:
            self.note.setText(_failure(error) if error is not None else "")
            return
        self.show_record(record)
        self.note.setText("Before training: fresh weights, as a run would start." if
                          self._weights is None else
                          f"After training: {weights_text(self._weights)}.")

    # -- drawing --------------------------------------------------------------------
    def _draw(self) -> None:
        record = self.record
        plane = _plane_of(record, self.points)
        if plane is not None and self._plane is not None and plane[0] is self._plane[0] \
                and plane[1:] == self._plane[1:]:
            assert record is not None
            # a run's later epochs: the same points and frame, only the shading changes
            # (re-creating the points and legend took most of a 20-30 ms draw)
            self.image.setImage(boundary_image(record), autoLevels=False)
            self.plot.setTitle(self._title(record), size="9pt")
            return
        self._plane = plane
        self.plot.clear()  # also empties the legend
        if record is None:
            self.plot.setTitle("Decision boundary: shown for 2-D data", size="9pt")
            return
        if record.get("mode") == "curve":
            self._draw_curve(record)
        else:
            self._draw_plane(record)

    def _draw_plane(self, record: dict[str, Any]) -> None:
        (x0, x1), (y0, y1) = record["x_range"], record["y_range"]
        size = int(record["size"])
        self.image.setImage(boundary_image(record), autoLevels=False)
        # cell centres span the ranges: each cell is one step wide, centred on its point
        dx, dy = (x1 - x0) / (size - 1), (y1 - y0) / (size - 1)
        self.image.setRect(x0 - dx / 2, y0 - dy / 2, x1 - x0 + dx, y1 - y0 + dy)
        self.plot.addItem(self.image)
        names = record.get("classes") or []
        points = self.points or {}
        for split, symbol in (("train", "o"), ("test", "d")):
            found = points.get(split)
            if not found:
                continue
            labels = np.asarray(found["label"], dtype=np.int64)
            for k in range(max(len(names), int(labels.max(initial=0)) + 1)):
                chosen = labels == k
                if not chosen.any():
                    continue
                colour = class_colour(k)
                name = f"{names[k] if k < len(names) else k} ({split})"
                brush = pg.mkBrush(colour) if split == "train" else pg.mkBrush(255, 255, 255)
                pen = pg.mkPen(30, 30, 30, 160) if split == "train" else pg.mkPen(colour,
                                                                                   width=1.5)
                item = pg.ScatterPlotItem(
                    np.asarray(found["x"])[chosen], np.asarray(found["y"])[chosen],
                    symbol=symbol, size=POINT_SIZE, brush=brush, pen=pen, name=name)
                self.plot.addItem(item)
        # one unit is as long across as up: a circle of data looks round, and the cells
        # square rather than stretched into bars by a wide, short dock
        self.plot.getViewBox().setAspectLocked(True)
        self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        self.plot.setTitle(self._title(record), size="9pt")

    def _draw_curve(self, record: dict[str, Any]) -> None:
        for split, brush in (("train", (59, 125, 216, 150)), ("test", (224, 123, 40, 200))):
            found = (self.points or {}).get(split)
            if found:
                self.plot.addItem(pg.ScatterPlotItem(found["x"], found["y"], size=POINT_SIZE,
                                                     pen=None, brush=brush, name=split))
        self.plot.getViewBox().setAspectLocked(False)  # values and inputs differ in units
        self.curve.setData(record["x"], record["y"])
        self.plot.addItem(self.curve)
        self.plot.legend.addItem(self.curve, "prediction")
        self.plot.enableAutoRange()
        self.plot.setTitle(self._title(record), size="9pt")

    def _title(self, record: dict[str, Any]) -> str:
        what = "Fitted curve" if record.get("mode") == "curve" else "Decision boundary"
        when = f" · epoch {record['epoch']}" if "epoch" in record else ""
        return f"{what}{when}"


def _plane_of(record: dict[str, Any] | None,
              points: dict[str, Any] | None) -> tuple[Any, ...] | None:
    """What a plane's drawing shares between records: its points (the object: a run
    sends them once) and frame."""
    if record is None or record.get("mode") == "curve":
        return None
    return (points, tuple(record["x_range"]), tuple(record["y_range"]), int(record["size"]))


def _failure(error: BaseException) -> str:
    from runtime.checkpoint import WeightsError
    from runtime.data import DataError

    if isinstance(error, WeightsError | DataError | ValueError):  # worded for the user
        return f"The boundary could not be computed: {error}"
    return f"The boundary could not be computed ({type(error).__name__}: {error})."


def _mode(doc: Document) -> str | None:
    """Whether the document's data is 2-D classification or 1-D regression, from its
    Input (the data itself is only loaded on a worker thread)."""
    training = doc.training
    if training.task not in ("classification", "regression") or not training.networks:
        return None
    network = next(iter(training.networks))
    if network not in doc.networks:
        return None
    shapes = [list(n.params["shape"]) for n in doc.network(network).nodes() if n.type == "Input"]
    if len(shapes) != 1:
        return None
    if training.task == "classification" and shapes[0] == [2]:
        return "plane"
    if training.task == "regression" and shapes[0] == [1]:
        return "curve"
    return None
