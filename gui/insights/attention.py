"""The Attention tab: how much each query position attends to each key, per head.

Records come from the run (``attention`` events, each epoch) or from weights at rest
(computed on a worker thread). For a vision Transformer the keys are image patches and
the weights can be laid over the probe image; for text the axes show the characters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QSpinBox,
    QSplitter,
)

from gui.insights.at_rest import AtRestView, column
from gui.insights.heatmap import HeatMap
from gui.insights.top_inputs import node_title
from gui.training import TrainingController

ATTENTION_TYPES = ("MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer")
BAR = "attention weight"


def _at_rest_attention(model: Any) -> dict[str, Any]:
    from runtime.inspect.attention import attention_record
    from runtime.run_data import data_network

    network = data_network(model.doc, model.training)
    x = model.data.val_x if model.data.has_val else model.data.train_x
    return attention_record(model.networks[network], x, model.doc, network, model.data)


class AttentionView(AtRestView):
    """Per-head attention weights of one attention layer for one probe sample."""

    title = "Attention"

    def __init__(self, controller: TrainingController) -> None:
        super().__init__(controller, _at_rest_attention, "Computing attention maps…")
        self.layer = QComboBox()
        self.layer.setToolTip("The attention layer (follows the canvas selection)")
        self.head = QComboBox()
        for combo in (self.layer, self.head):  # names stay whole in a crowded row
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.head.setToolTip("Each head attends in its own way; the mean shows them together")
        self.sample = QSpinBox()
        self.sample.setPrefix("probe sample ")
        self.sample.setRange(1, 1)
        self.query = QComboBox()
        self.query.setToolTip("Whose attention is laid over the image: one patch's, or the "
                              "mean over all patches")
        self.heatmap = HeatMap("Attention", BAR)
        self.overlay = HeatMap("Over the image", BAR)
        for combo in (self.layer, self.head, self.query):
            combo.currentIndexChanged.connect(lambda _i: self._draw())
        self.layer.currentIndexChanged.connect(lambda _i: self._fill_heads())
        self.sample.valueChanged.connect(lambda _v: self._draw())
        self._lay_out()
        self.clear()

    def _lay_out(self) -> None:
        layout = column(self, self.status, (self.layer, self.head, self.sample, self.query,
                                            self.compute_button), 4)
        split = QSplitter()
        split.addWidget(self.heatmap.widget)
        split.addWidget(self.overlay.widget)
        layout.addWidget(split, 1)

    # -- Insight -----------------------------------------------------------------
    def applies(self) -> bool:
        if self.session is None:
            return False
        return any(n.type in ATTENTION_TYPES for net in self.session.doc.networks.values()
                   for n in net.nodes())

    def clear(self) -> None:
        super().clear()
        self.layer.clear()
        self.head.clear()
        self.heatmap.clear_image()
        self.heatmap.set_title("Attention")
        self.overlay.clear_image()
        self.overlay.widget.setVisible(False)
        self.query.setVisible(False)
        self.status.setText("Attention maps appear after the first epoch of a run, or press "
                            "“Show for trained weights”.")
        self._enable()

    def on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") == "attention":
            self.show_record(event, f"epoch {event['epoch']} of the run")

    def on_selection(self, network: str, node_id: str | None) -> None:
        for i in range(self.layer.count()):
            if self.layer.itemData(i) is not None and self._layer(i)["node"] == node_id:
                self.layer.setCurrentIndex(i)
                return

    # -- records -----------------------------------------------------------------
    def draw_record(self, record: dict[str, Any], source: str) -> None:
        first = self.record is None
        self.record, self.source = record, source
        current = self.layer.currentIndex()
        self.layer.blockSignals(True)
        self.layer.clear()
        for i, entry in enumerate(record["layers"]):
            title = node_title(self.session, record["network"], entry["node"])
            self.layer.addItem(f"{title} {entry['role']}".strip(), i)
        self.layer.setCurrentIndex(max(0, current) if not first else 0)
        self.layer.blockSignals(False)
        self.sample.setRange(1, max(1, int(record["samples"])))
        image = bool(record.get("grid")) and record.get("images") is not None
        self.overlay.widget.setVisible(image)
        self.query.setVisible(image)
        self._fill_queries()
        self._fill_heads()

    def _layer(self, index: int | None = None) -> dict[str, Any]:
        assert self.record is not None
        chosen = self.layer.itemData(self.layer.currentIndex() if index is None else index)
        entry: dict[str, Any] = self.record["layers"][int(chosen)]
        return entry

    def _fill_heads(self) -> None:
        if self.record is None or self.layer.count() == 0:
            return
        heads = self._layer()["heads"]
        keep = self.head.currentIndex()
        self.head.blockSignals(True)
        self.head.clear()
        self.head.addItems([f"head {h + 1} of {heads}" for h in range(heads)]
                           + ["mean of the heads"])
        self.head.setCurrentIndex(keep if 0 <= keep < heads + 1 else 0)
        self.head.blockSignals(False)
        self._draw()

    def _fill_queries(self) -> None:
        grid = self.record.get("grid") if self.record else None
        if not grid or self.query.count():
            return
        rows, cols, _ = grid
        self.query.addItem("attention received (mean over query patches)")
        self.query.addItems([f"from patch row {r + 1}, column {c + 1}"
                             for r in range(rows) for c in range(cols)])

    # -- drawing -----------------------------------------------------------------
    def weights(self) -> np.ndarray | None:
        """The matrix on show: queries × keys for the chosen layer, head and sample."""
        if self.record is None or self.layer.count() == 0:
            return None
        entry = self._layer()
        w = np.asarray(entry["weights"][min(self.sample.value() - 1,
                                            len(entry["weights"]) - 1)], dtype=np.float32)
        head = self.head.currentIndex()
        return w.mean(axis=0) if head >= entry["heads"] or head < 0 else w[head]

    def _labels(self, count: int) -> list[str]:
        assert self.record is not None
        grid = self.record.get("grid")
        if grid and grid[0] * grid[1] == count:
            return [f"r{r + 1}c{c + 1}" for r in range(grid[0]) for c in range(grid[1])]
        tokens = self.record.get("tokens")
        index = self.sample.value() - 1
        if tokens and index < len(tokens) and len(tokens[index]) >= count:
            return list(tokens[index][:count])
        return [str(i) for i in range(count)]

    def _draw(self) -> None:
        w = self.weights()
        if w is None:
            return
        self._draw_matrix(w, self._layer())
        if self.overlay.widget.isVisibleTo(self) and w.shape[1] == self._patches():
            self._draw_over_image(w)
        head = self.head.currentText()
        self.status.setText(f"Showing {self.source}: {self.layer.currentText()}, {head}, "
                            f"probe sample {self.sample.value()}. Each row is a query position "
                            f"and sums to 1 over the keys it attends to; masked keys get 0.")

    def _patches(self) -> int:
        grid = self.record.get("grid") if self.record else None
        return int(grid[0] * grid[1]) if grid else 0

    def _draw_matrix(self, w: np.ndarray, entry: dict[str, Any]) -> None:
        self.heatmap.set_matrix(w, (0.0, max(float(w.max()), 1e-6)), BAR)
        self.heatmap.annotate(w)
        queries, keys = self._labels(w.shape[0]), self._labels(w.shape[1])
        patches = " (patches: r = row, c = column)" if w.shape[1] == self._patches() else ""
        self.heatmap.show_axes(True, "query (attends)", "key (attended to)")
        self.heatmap.set_ticks(queries, keys)
        cut = "" if (entry["queries"], entry["keys"]) == w.shape else \
            f" (first {w.shape[0]} of {entry['queries']} positions)"
        self.heatmap.set_title(f"Attention weights of {self.layer.currentText()}, "
                               f"{self.head.currentText()}{cut}{patches}")

    def _draw_over_image(self, w: np.ndarray) -> None:
        assert self.record is not None
        rows, cols, patch = self.record["grid"]
        choice = self.query.currentIndex()
        per_patch = w.mean(axis=0) if choice <= 0 else w[choice - 1]
        grid = per_patch[: rows * cols].reshape(rows, cols)
        top = max(float(grid.max()), 1e-6)
        upsampled = np.kron(grid / top, np.ones((patch, patch), dtype=np.float32))
        images = self.record["images"]
        image = np.asarray(images[min(self.sample.value() - 1, len(images) - 1)],
                           dtype=np.float32).mean(axis=0)
        lo, hi = float(image.min()), float(image.max())
        bright = (image - lo) / max(hi - lo, 1e-6)
        # the colour says how much attention a patch gets; its brightness is the image
        colour = self.overlay.cmap.map(upsampled, mode=pg.ColorMap.FLOAT)[..., :3]
        self.overlay.set_matrix(colour * (0.3 + 0.7 * bright[..., None]), (0.0, 1.0))
        self.overlay.bar.setLevels((0.0, top), update_items=False)  # a scale for the hue
        self.overlay.bar.setVisible(True)
        what = "received by each patch (mean over the query patches)" if choice <= 0 else \
            f"{self.query.currentText()} to each patch"
        self.overlay.set_title(f"Attention {what}: colour is the weight, brightness the "
                               "probe image")
