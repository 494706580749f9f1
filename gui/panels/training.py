"""The Training panel: start, pause and stop a run; its loss and metrics, live.

Curves are pyqtgraph items updated with ``setData`` from the run's throttled
events (a few per second), so plotting never holds up the canvas.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from functools import partial

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gui.panels.legend import legend_beside
from gui.panels.run_views import LayerView, SamplesView, plot_widget
from gui.panels.text_samples import TextSamplesView
from gui.training import TrainingController
from runtime.events import (
    CrashedEvent,
    EpochEvent,
    FailedEvent,
    FinishedEvent,
    StartedEvent,
    StepEvent,
    TelemetryEvent,
    metrics_of,
    run_event,
)

COLOURS = ("#3b7dd8", "#e07b28", "#2f9e6e", "#c0392b", "#8e6cc9", "#7d8594")
SYMBOLS_UP_TO = 40  # points per curve drawn as dots; longer curves are plain lines
SAMPLE_TASKS = ("gan", "autoencoder")
STATE_TEXT = {"paused": "Paused", "stopping": "Stopping…"}


class Curves:
    """One plot's curves, created as new series appear in the events.

    While ``waits()`` says so (the plot is hidden, or a drain of the run's events is
    under way), new points are kept and drawn by ``draw_waiting``: each curve once."""

    def __init__(self, plot: pg.PlotItem, waits: Callable[[], bool] = lambda: False) -> None:
        self.plot = plot
        self.waits = waits
        self.data: dict[str, tuple[list[float], list[float]]] = {}
        self.items: dict[str, pg.PlotDataItem] = {}
        self._stale: set[str] = set()  # curves with points not yet drawn

    def add(self, name: str, x: float, y: float, *, thin: bool = False) -> None:
        self.extend(name, [x], [y], thin=thin)

    def extend(self, name: str, x: list[float], y: list[float], *, thin: bool = False) -> None:
        xs, ys = self.data.setdefault(name, ([], []))
        before = len(xs)
        xs.extend(x)
        ys.extend(y)
        item = self.items.get(name)
        if item is None:
            colour = COLOURS[len(self.items) % len(COLOURS)]
            style = Qt.PenStyle.DashLine if name.startswith("val") else Qt.PenStyle.SolidLine
            pen = pg.mkPen(colour, width=1 if thin else 2, style=style)
            symbol = None if thin else "o"
            item = self.plot.plot(name=name, pen=pen, symbol=symbol, symbolSize=5,
                                  symbolBrush=colour, symbolPen=None)
            if thin:  # a point per few steps: thousands in a long run
                item.setOpacity(0.45)
                item.setDownsampling(auto=True, method="mean")
                item.setClipToView(True)
            self.items[name] = item
        if before <= SYMBOLS_UP_TO < len(xs):
            item.setSymbol(None)
        if self.waits():
            self._stale.add(name)
        else:
            item.setData(xs, ys)

    def draw_waiting(self) -> None:
        """Draw the points that waited."""
        for name in self._stale:
            self.items[name].setData(*self.data[name])
        self._stale.clear()

    def clear(self) -> None:
        for item in self.items.values():
            self.plot.removeItem(item)
        legend = self.plot.legend
        if legend is not None:
            legend.clear()
        self.items.clear()
        self.data.clear()
        self._stale.clear()


class TrainingPanel(QWidget):
    """Buttons and a status line (progress, then the results), a progress bar and two live
    plots (loss; metrics)."""

    evaluate_requested = Signal()
    node_named = Signal(str, str)  # network, node id of a layer a failure points at

    def __init__(self, controller: TrainingController) -> None:
        super().__init__()
        self.controller = controller
        self.epochs = 0
        self.on_screen = True  # until the window says its dock is tabbed behind another
        # Train, Pause, Stop and Settings mirror the window's actions: see ``bind``.
        self.train_button = QPushButton("Train")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.evaluate_button = QPushButton("Evaluate…")
        self.evaluate_button.setToolTip("Per-class precision, recall, F1 and the confusion "
                                        "matrix of the last run (F8)")
        self.evaluate_button.setEnabled(False)
        self.settings_button = QPushButton("Settings…")
        self.step_button = QPushButton("Step…")  # Training > Step (the window connects it)
        self.step_button.setToolTip("Walk one training step through the canvas (F7)")
        self.status = QLabel("Not trained yet. Train runs the document's training section "
                             "in the background; the window stays usable.")
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                            | Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.status.linkActivated.connect(self._link)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.plot_widgets: list[pg.PlotWidget] = []
        self.loss = Curves(self._plot("Loss"), self._waits)
        self.metrics = Curves(self._plot("Metrics"), self._waits)
        self.layer = LayerView()
        self.samples = SamplesView()
        self.plot_widgets += [self.layer.widget, self.samples.widget]
        self.samples.widget.hide()
        self.text_samples = TextSamplesView()  # a language model's, epoch by epoch
        self.text_samples.hide()
        self._failed_at: tuple[str, str] | None = None
        self._layout()
        self.evaluate_button.clicked.connect(self.evaluate_requested)
        self._has_weights = False
        controller.weights_saved.connect(self._weights_saved)
        controller.reported.connect(self.on_event)
        controller.drained.connect(self._draw_waiting)
        controller.state_changed.connect(self._state_changed)

    def bind(self, train: QAction, pause: QAction, stop: QAction, settings: QAction) -> None:
        """Buttons that trigger the window's actions and follow their state and wording,
        which the window alone decides (menu, toolbar and panel agree by construction)."""
        for button, action in ((self.train_button, train), (self.pause_button, pause),
                               (self.stop_button, stop), (self.settings_button, settings)):
            button.clicked.connect(action.trigger)
            mirror = partial(_mirror, button, action)
            action.changed.connect(mirror)
            mirror()

    def _plot(self, title: str) -> pg.PlotItem:
        widget = plot_widget(title)
        plot = widget.getPlotItem()
        plot.setLabel("bottom", "epoch")
        # epochs from 0: one step's point alone would otherwise centre a ±0.5 range on
        # itself, labelled in thousandths
        plot.getAxis("bottom").enableAutoSIPrefix(False)
        plot.getViewBox().setLimits(xMin=0)
        legend_beside(plot)  # a GAN's six curves would hide under a legend inside
        self.plot_widgets.append(widget)
        return plot

    def _layout(self) -> None:
        buttons = QHBoxLayout()
        for button in (self.train_button, self.step_button, self.pause_button, self.stop_button,
                       self.evaluate_button, self.settings_button):
            buttons.addWidget(button)
        buttons.addWidget(self.status, 1)
        plots = QHBoxLayout()
        for widget in self.plot_widgets:
            plots.addWidget(widget)
        plots.addWidget(self.text_samples, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addLayout(plots, 1)

    # -- the run's events ----------------------------------------------------------
    def set_on_screen(self, on_screen: bool) -> None:
        """Whether the panel's dock is on screen: one tabbed behind another stays
        visible to Qt, only moved off screen (the window tells it)."""
        self.on_screen = on_screen
        self._draw_waiting()

    def _waits(self) -> bool:
        """Whether new points wait: until the panel is seen, or the drain's end (an
        epoch's curves then redraw once, not once per value)."""
        return self.controller.draining or not (self.on_screen and self.isVisible())

    def _draw_waiting(self) -> None:
        if self.on_screen and self.isVisible():
            self.loss.draw_waiting()
            self.metrics.draw_waiting()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._draw_waiting()

    def on_event(self, telemetry: TelemetryEvent) -> None:
        event = run_event(telemetry)
        if event is None:
            return  # the epoch probes' views: the Insights dock draws them
        if event["type"] == "started":
            self._on_started(event)
        elif event["type"] == "step":
            self._on_step(event)
        elif event["type"] == "epoch":
            self._on_epoch(event)
        elif event["type"] == "activations":
            self.layer.update(event)
        elif event["type"] == "samples":
            self.samples.update(event)
        elif event["type"] == "text_sample":
            self.text_samples.add(event)
        elif event["type"] == "paused":
            self.status.setText("Paused: Resume continues where it stopped")
        elif event["type"] == "finished":
            self._on_finished(event)
        elif event["type"] in ("failed", "crashed"):
            self._on_ended_badly(event)

    def _on_started(self, event: StartedEvent) -> None:
        self.epochs = event["epochs"]
        self.samples.widget.setVisible(event.get("task") in SAMPLE_TASKS)
        self.text_samples.setVisible(event.get("task") == "language_model")
        note = f" ({event['note']})" if event.get("note") else ""
        self.status.setText(f"Training on {event['device']}{note}: {event['samples']:,} "
                            f"samples, {self.epochs} epochs")

    def _on_step(self, event: StepEvent) -> None:
        at = event["epoch"] - 1 + event["step"] / event["steps"]
        trail = event.get("trail")
        for key, value in _losses(event, ""):
            if trail:  # every step since the last event, not only this one
                self.loss.extend(f"step {key}", trail["at"], trail[key], thin=True)
            else:
                self.loss.add(f"step {key}", at, value, thin=True)
        self.progress.setValue(int(1000 * at / max(self.epochs, 1)))
        self.status.setText(f"Epoch {event['epoch']}/{self.epochs} · step {event['step']}/"
                            f"{event['steps']} · {event['samples_per_s']:,.0f} samples/s · "
                            f"{_remaining(event['eta_s'])}")

    def _on_epoch(self, event: EpochEvent) -> None:
        epoch = event["epoch"]
        for prefix in ("train_", "val_"):
            for key, value in _losses(event, prefix):
                self.loss.add(key, epoch, value)
        for key, value in metrics_of(event).items():
            if not key.endswith("loss"):
                self.metrics.add(key, epoch, value)
        self.progress.setValue(int(1000 * epoch / max(self.epochs, 1)))

    def _on_finished(self, event: FinishedEvent) -> None:
        status = {"completed": "Finished", "stopped": "Stopped",
                  "early_stopped": "Stopped early (no more improvement)"}.get(
                      event["status"], event["status"])
        tested = {k[5:]: v for k, v in event["metrics"].items()
                  if k.startswith("test_") and isinstance(v, float)}
        shown = ", ".join(f"{k} {format_metric(k, v)}" for k, v in tested.items())
        parts = [f"<b>{status} after {event['epochs_done']} epochs</b>"]
        if shown:
            parts.append(f"test split: {shown}")
        if self.controller.out_dir is not None:
            where = html.escape(str(self.controller.out_dir))
            parts.append(f"weights saved in <code>{where}</code>")
        self.status.setText(" · ".join(parts))

    def _on_ended_badly(self, event: FailedEvent | CrashedEvent) -> None:
        message = f"<span style='color:#c0392b'>{html.escape(event['message'])}</span>"
        if event["type"] == "crashed":
            self.status.setText(f"<b>Training ended unexpectedly:</b> {message}")
            return
        network, node = event["network"], event["node"]
        self._failed_at = (network, node) if network is not None and node else None
        link = " <a href='node'>Show the layer</a>" if self._failed_at else ""
        self.status.setText(f"<b>Training failed:</b> {message}{link}")

    # -- buttons -------------------------------------------------------------------
    def run_started(self) -> None:
        """A new run: clear the previous one's curves."""
        self._clear()
        self.status.setText("Starting: loading the data and compiling the network…")

    def document_opened(self, has_weights: bool) -> None:
        """Another document in the window: nothing of the last one's runs stays on show."""
        self._clear()
        self.status.setText("")
        self._has_weights = has_weights
        self._enable_evaluate()

    def _clear(self) -> None:
        for view in (self.loss, self.metrics, self.layer, self.samples, self.text_samples):
            view.clear()
        for widget in self.plot_widgets:  # an empty plot forgets the last run's axes
            box = widget.getPlotItem().getViewBox()
            box.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            box.enableAutoRange()
        self.progress.setValue(0)
        self._failed_at = None

    def _state_changed(self, state: str) -> None:
        if state in STATE_TEXT:
            self.status.setText(STATE_TEXT[state])
        self._enable_evaluate()

    def _weights_saved(self, _folder: object) -> None:
        self._has_weights = True
        self._enable_evaluate()

    def _enable_evaluate(self) -> None:
        # evaluating while a run writes new weights would report a moving target
        self.evaluate_button.setEnabled(self._has_weights and self.controller.state == "idle")

    def _link(self, _target: str) -> None:
        if self._failed_at is not None:
            self.node_named.emit(*self._failed_at)


def _losses(event: Mapping[str, object], prefix: str) -> list[tuple[str, float]]:
    """The loss values of an event with this prefix; with one loss per network (a GAN's
    d_loss and g_loss) their sum is left out."""
    found = [(k, v) for k, v in event.items()
             if k.startswith(prefix) and k.endswith("loss") and isinstance(v, float)]
    if len(found) > 1:
        found = [(k, v) for k, v in found if k != f"{prefix}loss"]
    return found


def _mirror(button: QPushButton, action: QAction) -> None:
    button.setEnabled(action.isEnabled())
    button.setText(action.text().replace("&", ""))
    button.setToolTip(action.toolTip())


def format_metric(key: str, value: float) -> str:
    """A metric as the panel and the evaluation show it: accuracies as percentages."""
    return f"{value:.2%}" if "accuracy" in key else f"{value:.4g}"


def _remaining(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s left"
    return f"about {round(seconds / 60)} min left"
