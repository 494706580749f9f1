"""The Runs panel: the training runs of the open file, side by side.

Lists what ``runtime.runs.list_runs`` reads from each run folder (date, epochs,
status, headline metric, settings), read on a worker thread with the runs' logs.
Selecting rows overlays their loss and metric curves; the buttons hand a run's
weights to Evaluate and Export (``session.last_run_dir``), continue training from
its checkpoint, or delete it. The list is read again when a run ends and when the
document is saved (runs made before the first save move beside the file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.background import BackgroundJob
from gui.panels.run_views import plot_widget
from gui.panels.training import COLOURS, format_metric
from gui.session import Session
from gui.training import TrainingController
from runtime.runs import RunInfo, delete_run, list_runs, read_log, resume_problem

COLUMNS = ("Started", "Epochs", "Status", "Metric (last epoch)", "Settings")
Listed = list[tuple[RunInfo, list[dict[str, Any]]]]


def _listing(graph_file: Path | None, extra: list[Path]) -> Listed:
    return [(run, read_log(run.folder)) for run in list_runs(graph_file, extra)]


class RunsPanel(QWidget):
    """The runs of the open document: a table, overlaid curves and what to do with a run."""

    evaluate_requested = Signal()
    export_requested = Signal()
    try_requested = Signal()  # open Try it on the chosen run's weights
    continue_requested = Signal(object)  # the run folder whose checkpoint to continue

    def __init__(self, controller: TrainingController) -> None:
        super().__init__()
        self.controller = controller
        self.session: Session | None = None
        self.runs: Listed = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.buttons = {
            "evaluate": QPushButton("Evaluate…"), "export": QPushButton("Export…"),
            "try": QPushButton("Try it"), "use": QPushButton("Use its weights"),
            "continue": QPushButton("Continue training"),
            "delete": QPushButton("Delete…"), "refresh": QPushButton("Refresh"),
        }
        self.buttons["use"].setToolTip("Evaluate, Export and Try it use this run's weights")
        self.buttons["continue"].setToolTip(
            "Train on from this run's checkpoint (its weights, optimiser state and epoch) "
            "into a new run folder; the network must be as it was")
        for key, slot in (("evaluate", self.evaluate), ("export", self.export),
                          ("try", self.try_it), ("use", self.use_weights),
                          ("continue", self.continue_training),
                          ("delete", self.delete), ("refresh", self.refresh)):
            self.buttons[key].clicked.connect(slot)
        self.loss_plot = plot_widget("Loss of the selected runs")
        self.metric_plot = plot_widget("Metric of the selected runs")
        for widget, corner in ((self.loss_plot, (-6, 6)), (self.metric_plot, (-6, -6))):
            widget.getPlotItem().setLabel("bottom", "epoch")
            # losses fall and metrics rise: each legend sits where its curves are not
            widget.getPlotItem().addLegend(offset=corner, labelTextSize="8pt")
        self.job = BackgroundJob(self, blocks_close=False)  # it only reads
        self.job.done.connect(self._listed)
        self._again = False  # a refresh asked for while one was reading
        self._lay_out()
        controller.state_changed.connect(self._state_changed)
        self._enable()

    def _lay_out(self) -> None:
        row = QHBoxLayout()
        for button in self.buttons.values():
            row.addWidget(button)
        row.addWidget(self.note, 1)
        plots = QHBoxLayout()
        plots.addWidget(self.table, 3)
        plots.addWidget(self.loss_plot, 2)
        plots.addWidget(self.metric_plot, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(row)
        layout.addLayout(plots, 1)

    # -- listing -------------------------------------------------------------------
    def set_session(self, session: Session) -> None:
        self.session = session
        self.runs = []
        self.table.setRowCount(0)
        self.note.setText("")
        self.refresh()

    def refresh(self) -> None:
        """Read the runs again (on a worker thread)."""
        session = self.session
        if session is None:
            return
        if self.job.running:
            self._again = True
            return
        self.job.start(_listing, session.path, list(session.unsaved_runs), name="runs")

    def _listed(self, runs: Listed | None, error: Exception | None) -> None:
        if self._again:
            self._again = False
            self.refresh()
            return
        if error is not None or runs is None:
            self.note.setText(f"Cannot list the runs: {error}")
            return
        chosen = {r.folder for r in self.selected()}
        self.runs = runs
        self.table.blockSignals(True)
        self.table.setRowCount(len(runs))
        for i, (run, _log) in enumerate(runs):
            for j, text in enumerate(self._cells(run)):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{text}\n{run.folder}")
                self.table.setItem(i, j, item)
            if run.folder in chosen:
                self.table.selectRow(i)
        self.table.blockSignals(False)
        self._selection_changed()
        if not runs:
            saved = self.session is not None and self.session.path is not None
            self.note.setText("No runs yet: Train (F5) writes each run to its own folder "
                              + ("beside the file (runs/…)." if saved else
                                 "(kept beside the file once you save it)."))
        elif not self.selected():  # not the "No runs yet" of an earlier listing
            self.note.setText("Select a run to see its curves and use its weights; select "
                              "several (Ctrl+click) to compare their curves.")

    def _cells(self, run: RunInfo) -> tuple[str, ...]:
        running = self.controller.active and self.controller.out_dir == run.folder
        metric = f"{run.headline[0]} {format_metric(*run.headline)}" if run.headline else "–"
        unsaved = self.session is not None and run.folder in self.session.unsaved_runs
        return (run.started + (" (unsaved)" if unsaved else ""), str(run.epochs),
                "running" if running else run.status, metric, run.settings)

    # -- selection and curves --------------------------------------------------------
    def selected(self) -> list[RunInfo]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.runs[r][0] for r in rows if r < len(self.runs)]

    def _selection_changed(self) -> None:
        self._enable()
        self._overlay()
        if len(self.selected()) > 1:
            self.note.setText("Curves of the selected runs: train solid, validation dashed. "
                              "Select one run to evaluate, export or continue it.")

    def _overlay(self) -> None:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        for widget in (self.loss_plot, self.metric_plot):
            plot = widget.getPlotItem()
            plot.clear()
            if plot.legend is not None:
                plot.legend.clear()
        for k, row in enumerate(rows):
            run, log = self.runs[row]
            colour = COLOURS[k % len(COLOURS)]
            name = run.started[5:19]  # "12-06 22:10:04": runs a minute apart differ
            for key, dashed in (("train_loss", False), ("val_loss", True)):
                self._curve(self.loss_plot, log, key, colour, dashed, f"{name} {key[:-5]}")
            metric = _metric(run, log)
            if metric is not None:
                self._curve(self.metric_plot, log, metric, colour, False, f"{name} {metric}")

    @staticmethod
    def _curve(widget: pg.PlotWidget, log: list[dict[str, Any]], key: str, colour: str,
               dashed: bool, name: str) -> None:
        points = [(r["epoch"], r[key]) for r in log if isinstance(r.get(key), float)]
        if not points:
            return
        style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
        xs, ys = zip(*points, strict=True)
        widget.getPlotItem().plot(list(xs), list(ys), name=name,
                                  pen=pg.mkPen(colour, width=2, style=style),
                                  symbol="o" if len(xs) < 40 else None, symbolSize=4,
                                  symbolBrush=colour, symbolPen=None)

    def _enable(self) -> None:
        chosen = self.selected()
        one = chosen[0] if len(chosen) == 1 else None
        idle = not self.controller.active
        weights = one is not None and one.has_weights
        for key in ("evaluate", "export", "try", "use"):
            self.buttons[key].setEnabled(weights and idle)
        self.buttons["continue"].setEnabled(one is not None and one.has_checkpoint and idle)
        running = self.controller.active and any(
            r.folder == self.controller.out_dir for r in chosen)
        self.buttons["delete"].setEnabled(bool(chosen) and not running)

    def _state_changed(self, state: str) -> None:
        if state in ("idle", "running"):  # a run ended (or began): list it
            self.refresh()
        self._enable()

    # -- what to do with a run ---------------------------------------------------------
    def use_weights(self) -> bool:
        chosen = self.selected()
        if self.session is None or len(chosen) != 1 or not chosen[0].has_weights:
            return False
        self.session.last_run_dir = chosen[0].folder
        self.note.setText(f"Evaluate, Export and Try it now use the weights of the run of "
                          f"{chosen[0].started}.")
        return True

    def evaluate(self) -> None:
        if self.use_weights():
            self.evaluate_requested.emit()

    def export(self) -> None:
        if self.use_weights():
            self.export_requested.emit()

    def try_it(self) -> None:
        if self.use_weights():
            self.try_requested.emit()

    def continue_training(self) -> None:
        chosen = self.selected()
        if self.session is None or len(chosen) != 1:
            return
        problem = resume_problem(self.session.doc, chosen[0].folder)
        if problem is not None:
            self.note.setText(f"<span style='color:#c0392b'>Cannot continue: {problem}.</span>")
            return
        self.continue_requested.emit(chosen[0].folder)

    def delete(self) -> None:
        chosen = self.selected()
        if self.session is None or not chosen:
            return
        what = f"the run of {chosen[0].started}" if len(chosen) == 1 else \
            f"these {len(chosen)} runs"
        answer = QMessageBox.question(
            self, "Delete runs", f"Delete {what} with its weights, checkpoint and log? "
            "This cannot be undone.", QMessageBox.StandardButton.Yes
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return
        session = self.session
        for run in chosen:
            try:
                delete_run(run.folder, session.path, session.unsaved_runs)
            except OSError as exc:
                self.note.setText(f"Could not delete {run.folder}: {exc}")
                break
            if session.last_run_dir == run.folder:
                session.last_run_dir = None
            if run.folder in session.unsaved_runs:
                session.unsaved_runs.remove(run.folder)
        else:
            self.note.setText(f"Deleted {what}.")
        self.refresh()


def _metric(run: RunInfo, log: list[dict[str, Any]]) -> str | None:
    """The metric to compare runs by: the headline unless it is a loss, else the first
    validation metric the log has (a regression's val_mae, say)."""
    if run.headline is not None and "loss" not in run.headline[0]:
        return run.headline[0]
    last = log[-1] if log else {}
    return next((k for k, v in last.items() if k.startswith("val_") and "loss" not in k
                 and k != "val_mse" and isinstance(v, float)), None)
