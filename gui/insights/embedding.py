"""The Embedding tab: what one node makes of the held-out samples, as dots in 2-D.

It follows the canvas selection (nothing selected: an autoencoder's code, else the
last hidden layer). During a run it draws the ``embedding`` records the run streams
for that default node (PCA); any other node, and t-SNE, is computed on a worker
thread from the last run's weights (or fresh ones before any run). The dots are
coloured by true class or by k-means group; the adjusted Rand index says how well
the groups agree with the classes.
"""

from __future__ import annotations

import contextlib
import html
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from graph.document import Document
from graph.fileformat import GraphFileError, dumps, load_graph, loads
from gui.background import BackgroundJob
from gui.insights import Insight
from gui.insights.at_rest import trains_for, weights_text
from gui.panels.run_views import plot_widget
from gui.training import TrainingController
from runtime.inspect.projection import Embedding, adjusted_rand_index, kmeans

# Ten colours a reader tells apart (the digits have ten classes).
COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
POINT_SIZE = 6
METHODS = (("PCA", "pca"), ("t-SNE (slower)", "tsne"))
TASKS = ("classification", "regression", "autoencoder")


def colour(index: int) -> tuple[int, int, int]:
    return COLOURS[int(index) % len(COLOURS)]


def _computed(doc: Document, weights: str | None, base_dir: Path | None, network: str,
              node_id: str | None, method: str) -> Embedding:
    """On a worker thread: the embedding of ``node_id`` (None: the default node)."""
    from runtime.inspect.embedding import default_node, embed_inspected
    from runtime.inspect.model import inspect_model

    model = inspect_model(doc, weights, base_dir)
    if node_id is None:
        x, _ = model.split("val" if model.data.has_val else "train")
        node_id = default_node(model.networks[network], model.training.task, x)
        if node_id is None:
            raise ValueError("the network has no hidden layer to show")
    return embed_inspected(model, network, node_id, method)


class EmbeddingView(Insight):
    """Dots for samples, placed by what a node outputs for them."""

    title = "Embedding"

    def __init__(self, controller: TrainingController) -> None:
        super().__init__(controller)
        self._live: dict[str, Any] | None = None  # the run's newest record, not yet shown
        self.widget = plot_widget("Embedding")
        self.plot = self.widget.getPlotItem()
        self.method = QComboBox()
        for text, method in METHODS:
            self.method.addItem(text, method)
        self.method.setToolTip("PCA: the two directions in which the outputs vary most (fast, "
                               "distances mean something).\nt-SNE: keeps neighbours together "
                               "(shows groups well; distances between groups mean little).")
        self.colour_by = QComboBox()
        self.colour_by.addItems(["true class", "k-means groups"])
        self.k = QSpinBox()
        self.k.setRange(2, 30)
        self.k.setValue(10)
        self.k.setPrefix("k = ")
        self.k.setToolTip("How many groups k-means looks for in the dots")
        self.compute_button = QPushButton("Compute")
        self.compute_button.setToolTip("Compute the view for the selected node from the last "
                                       "run's weights (fresh weights before any run)")
        self.node_label = QLabel()
        self.node_label.setWordWrap(True)
        self.key = QLabel()  # which colour is which class or group
        self.key.setWordWrap(True)
        self.agreement = QLabel()
        self.agreement.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        for label in (self.key, self.agreement, self.note):
            label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        choices = QHBoxLayout()
        for widget in (self.method, self.colour_by, self.k, self.compute_button):
            choices.addWidget(widget)
        side = QVBoxLayout()  # the dock is wide and short: words beside the plot
        side.addWidget(self.node_label)
        side.addLayout(choices)
        side.addWidget(self.key)
        side.addWidget(self.agreement)
        side.addWidget(self.note, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.widget, 3)
        layout.addLayout(side, 2)
        self.job = BackgroundJob(self, blocks_close=False)  # it only reads
        self.job.done.connect(self._computed)
        self.shown: Embedding | None = None
        self.clusters: np.ndarray | None = None
        self.selected: tuple[str, str] | None = None  # None: the default node
        self.live_node: tuple[str, str] | None = None  # the node a run streams
        self.stale = True
        self.wanted = False  # asked for while a compute ran: computed when that one ends
        self.k_chosen = False  # k follows the number of classes until the user sets it
        self._source = ""
        self.method.currentIndexChanged.connect(self._method_changed)
        self.colour_by.currentIndexChanged.connect(self._draw)
        self.k.valueChanged.connect(self._k_changed)
        self.compute_button.clicked.connect(self.compute)
        controller.weights_saved.connect(self._weights_saved)
        self._draw()

    # -- what applies ---------------------------------------------------------------
    def applies(self) -> bool:
        return trains_for(self.session, TASKS)

    def clear(self) -> None:
        self.k_chosen = False
        self.shown = None
        self.clusters = None
        self.live_node = None
        self._live = None
        self.stale = True
        self.note.setText("")
        self._draw()
        if self.isVisible():
            self.compute()

    # -- a run's records ------------------------------------------------------------
    def on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") != "embedding":
            return
        self.live_node = (event["network"], event["node"])
        if self.method.currentData() != "pca":
            return  # t-SNE waits for the run's end
        self._live = event  # projected, grouped and drawn once the view is seen
        self.draw_when_seen("record", self._show_live)

    def _show_live(self) -> None:
        event, self._live = self._live, None
        if event is None or self.method.currentData() != "pca":
            return
        # The run streams its default layer only: that one is shown live whatever is
        # selected; a selected other layer follows when the run has saved its weights.
        self.show_embedding(Embedding.from_record(event))
        self._source = f"epoch {event['epoch']} of the run"
        self._explain()
        if self.selected not in (None, self.live_node):
            self.note.setText(self._during_run() + " " + self.note.text())

    def on_selection(self, network: str, node_id: str | None) -> None:
        chosen = (network, node_id) if node_id is not None else None
        if chosen == self.selected:
            return
        self.selected = chosen
        if self.controller.active:
            self.note.setText(self._during_run())
            return
        self.stale = True
        if self.isVisible():
            self.compute()

    def show_embedding(self, shown: Embedding) -> None:
        """Draw ``shown`` (grouping its dots again with the chosen k)."""
        self.shown = shown
        if shown.class_names and not self.k_chosen:
            # as many groups as classes, until the user picks k (not a pick: no signal)
            blocked = self.k.blockSignals(True)
            self.k.setValue(max(2, len(shown.class_names)))
            self.k.blockSignals(blocked)
        self.clusters = kmeans(shown.points, self.k.value()) if len(shown.points) else None
        self._draw()

    # -- at rest --------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        live = self._live is not None  # the run's newest record: shown, not recomputed
        super().showEvent(event)
        if self.stale and not live:
            self.compute()

    def _weights_saved(self, _folder: object) -> None:
        self.stale = True
        if self.isVisible() and self.selected not in (None, self.live_node):
            self.compute()

    def _method_changed(self) -> None:
        if self.controller.active and self.method.currentData() != "pca":
            self.note.setText("t-SNE is computed from the run's weights when the run ends "
                              "(it takes seconds); the run shows PCA as it learns.")
            return
        self.compute()

    def _k_changed(self) -> None:
        self.k_chosen = True
        if self.shown is not None and len(self.shown.points):
            self.clusters = kmeans(self.shown.points, self.k.value())
        if self.colour_by.currentIndex() == 0 and self.shown is not None \
                and self.shown.labels is not None:
            self.colour_by.setCurrentIndex(1)  # choosing k means wanting the groups
        self._draw()

    def compute(self) -> None:
        """Compute the view of the selected node on a worker thread (not during a run)."""
        if self.session is None or not self.applies():
            return
        if self.job.running:
            self.wanted = True  # the running one is for an older selection or method
            return
        if self.controller.active:
            self.note.setText(self._during_run())
            return
        from gui.export_dialog import default_weights

        self.stale = False
        weights = default_weights(self.session) or None
        doc = loads(dumps(self.session.doc))  # a snapshot: the worker never sees edits
        beside = Path(weights).with_name("graph.loom") if weights else None
        if beside is not None and beside.is_file():
            # the graph the weights were trained with; if unreadable, the snapshot (loading
            # the weights then says what does not fit)
            with contextlib.suppress(GraphFileError):
                doc = load_graph(beside)
        network, node_id = self.selected or (next(iter(doc.training.networks)), None)
        self._source = weights_text(weights) if weights else \
            "fresh, untrained weights (train to see what the network learns)"
        base = self.session.path.parent if self.session.path is not None else None
        method = str(self.method.currentData())
        self.note.setText("Computing t-SNE (a few seconds)…" if method == "tsne" else
                          "Computing…")
        self.compute_button.setEnabled(False)
        self.job.start(_computed, doc, weights, base, network, node_id, method,
                       name="embedding")

    def _computed(self, shown: Embedding | None, error: BaseException | None) -> None:
        self.compute_button.setEnabled(True)
        if self.controller.active:
            self.wanted = False
            return  # a run started meanwhile: its records take over
        if self.wanted:  # this result is stale: compute what was asked for meanwhile
            self.wanted = False
            self.compute()
            return
        if error is not None or shown is None:
            from runtime.cli_run import user_errors

            known = isinstance(error, (ValueError, *user_errors()))
            self.note.setText(f"The embedding could not be computed: {error}" if known else
                              f"The embedding failed: {type(error).__name__}: {error}")
            return
        self.show_embedding(shown)
        self._explain()

    # -- drawing --------------------------------------------------------------------
    def _during_run(self) -> str:
        live = self.shown.title if self.shown is not None else "the default layer"
        return (f"During a run this view follows {live} as it learns; other layers and "
                "t-SNE are computed when the run ends.")

    def _explain(self) -> None:
        shown = self.shown
        if shown is None:
            return
        split = {"val": "validation", "test": "test", "train": "training"}[shown.split]
        if shown.method == "pca" and shown.explained is not None:
            how = (f"PCA: the horizontal axis keeps {shown.explained[0]:.0%} of the variance "
                   f"of its {shown.width} outputs, the vertical {shown.explained[1]:.0%}")
        elif shown.method == "values":
            how = f"its {shown.width} output values are the dot's coordinates"
        else:
            how = f"t-SNE of its {shown.width} outputs: near dots got similar outputs"
        self.note.setText(f"Each dot is one {split} sample, placed by what "
                          f"{html.escape(shown.title, quote=False)} "
                          f"outputs for it ({how}). Dots of one class close together: this "
                          f"layer tells that class apart. From {self._source}.")

    def _draw(self) -> None:
        self.plot.clear()  # also empties the legend
        shown = self.shown
        self.k.setEnabled(self.colour_by.currentIndex() == 1 or
                          (shown is not None and shown.labels is None))
        if shown is None:
            self.plot.setTitle("Embedding: select a layer on the canvas", size="9pt")
            self.node_label.setText("")
            self.key.setText("")
            self.agreement.setText("")
            return
        self.colour_by.setEnabled(shown.labels is not None)  # no classes: groups only
        self.colour_by.setToolTip("" if shown.labels is not None else
                                  "These samples have no classes to colour by")
        by_class = self.colour_by.currentIndex() == 0 and shown.labels is not None
        groups = shown.labels if by_class else self.clusters
        if groups is None:
            groups = np.zeros(len(shown.points), dtype=np.int64)
        names = shown.class_names or ()
        key = []
        for group in np.unique(groups):
            chosen = groups == group
            name = (names[group] if by_class and group < len(names) else
                    f"class {group}" if by_class else f"group {group + 1}")
            self.plot.addItem(pg.ScatterPlotItem(
                shown.points[chosen, 0], shown.points[chosen, 1], size=POINT_SIZE,
                brush=pg.mkBrush(*colour(int(group)), 200), pen=pg.mkPen(30, 30, 30, 90)))
            red, green, blue = colour(int(group))
            key.append(f"<span style='color:rgb({red},{green},{blue})'>&#9679;</span>&nbsp;"
                       f"{html.escape(str(name))}")
        what = "Colour: true class" if by_class else "Colour: k-means group"
        self.key.setText(f"{what} &nbsp; " + " &nbsp; ".join(key))
        self.plot.enableAutoRange()
        what, axes = {"pca": ("PCA", ("1st principal axis", "2nd principal axis")),
                      "values": ("outputs", ("value 1", "value 2")),
                      "tsne": ("t-SNE", ("", ""))}[shown.method]
        self.plot.setLabel("bottom", axes[0])
        self.plot.setLabel("left", axes[1])
        self.plot.setTitle(f"{shown.title}: {what} of {len(shown.points)} samples", size="9pt")
        title = html.escape(shown.title, quote=False)
        self.node_label.setText(f"<b>{title}</b>: {shown.width} values per sample (select "
                                "another layer on the canvas to see it)")
        self.agreement.setText(self._agreement())

    def _agreement(self) -> str:
        shown = self.shown
        if shown is None or shown.labels is None or self.clusters is None:
            return ("k-means groups the dots; without class labels there is nothing to "
                    "compare them with.") if shown is not None else ""
        ari = adjusted_rand_index(shown.labels, self.clusters)
        return (f"k-means with k = {self.k.value()} on these dots agrees with the true classes: "
                f"adjusted Rand index <b>{ari:.2f}</b> (1: the same groups, 0: no better "
                "than chance).")

    @property
    def agreement_value(self) -> float | None:
        """The adjusted Rand index shown (tests read it)."""
        if self.shown is None or self.shown.labels is None or self.clusters is None:
            return None
        return adjusted_rand_index(self.shown.labels, self.clusters)
