"""Which inputs activate a unit most: the top validation samples for one unit of the
selected layer, computed on a worker thread from weights at rest."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from gui.insights.at_rest import AtRest, column
from gui.insights.heatmap import HeatMap, mosaic, tile_origin
from gui.session import Session

TOP_COUNT = 9


def node_title(session: Session | None, network: str, node_id: str) -> str:
    """``Conv2d 'conv1'``, as the canvas and the errors name a node."""
    if session is None or network not in session.doc.networks:
        return node_id
    net = session.doc.network(network)
    if node_id not in net:
        return node_id
    node = net.node(node_id)
    return f"{node.type} '{node.label}'"


def unit_count(session: Session, network: str, node_id: str) -> int | None:
    """Units of a node as ``runtime.inspect.features.unit_count`` counts them: the
    channels of an image, the features of a sequence, else every value."""
    found = session.shapes.shape(network, node_id).out
    if found is None:
        return None
    shape = found.shape
    if len(shape) == 3:
        return shape[0]
    return shape[-1] if len(shape) == 2 else math.prod(shape)


def _top(node_id: str, unit: int) -> Any:
    def work(model: Any) -> dict[str, Any]:
        from runtime.inspect.features import top_inputs

        return top_inputs(model.main, node_id, unit, model.data, TOP_COUNT)

    return work


class TopInputsView(QWidget):
    """Unit picker, Find button, and the samples found: thumbnails or rows."""

    def __init__(self, owner: Any) -> None:
        super().__init__()
        self.owner = owner  # the Insight: its session and node titles
        self.network = "main"
        self.node_id: str | None = None
        self.result: dict[str, Any] | None = None
        self.caption = QLabel("Select a layer on the canvas, pick a unit, press Find.")
        self.caption.setWordWrap(True)
        self.unit = QSpinBox()
        self.unit.setPrefix("unit ")
        self.unit.setToolTip("A channel of a convolution, or one output of a dense layer")
        self.find_button = QPushButton("Find top inputs")
        self.find_button.setToolTip("The validation samples on which this unit is largest "
                                    "(trained weights of the newest run, else fresh ones)")
        self.images = HeatMap("Top inputs", "input value", "CET-L1")
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.at_rest = AtRest(self)
        self.at_rest.done.connect(self._found)
        self.find_button.clicked.connect(self.search)
        layout = column(self, self.caption, (self.unit, self.find_button), 0)
        found = QHBoxLayout()
        found.addWidget(self.images.widget, 3)
        found.addWidget(self.table, 2)
        layout.addLayout(found, 1)
        self.table.hide()

    def clear(self) -> None:
        self.result = None
        self.images.clear_image()
        self.images.set_title("Top inputs")
        self.table.setRowCount(0)
        self.table.hide()
        self.images.widget.show()

    def enable(self, idle: bool) -> None:
        self.find_button.setEnabled(idle and self.node_id is not None
                                    and not self.at_rest.running)

    def select(self, network: str, node_id: str | None) -> None:
        self.network, self.node_id = network, node_id
        session: Session | None = self.owner.session
        units = unit_count(session, network, node_id) if session and node_id else None
        self.unit.setRange(0, max(0, (units or 1) - 1))
        if node_id is None:
            self.caption.setText("Which inputs activate a unit most: select a layer on the "
                                 "canvas, pick a unit, press Find.")
        else:
            what = f"{units} units" if units else "units"
            self.caption.setText(f"Which validation inputs activate one unit of "
                                 f"{node_title(session, network, node_id)} most ({what}).")
        self.enable(not self.owner.controller.active)

    def search(self) -> None:
        session: Session | None = self.owner.session
        if session is None or self.node_id is None or self.at_rest.running:
            return
        self.caption.setText("Searching the validation samples…")
        self.at_rest.start(session, _top(self.node_id, self.unit.value()))
        self.enable(False)

    def _found(self, result: object, message: str) -> None:
        self.enable(not self.owner.controller.active)
        if not isinstance(result, dict):
            self.caption.setText(f"<b>Not found:</b> {message}")
            return
        self.result = result
        title = node_title(self.owner.session, self.network, result["node"])
        self.caption.setText(
            f"Unit {result['unit']} of {title} ({result['how']}), {self.at_rest.source}: "
            f"the {len(result['indices'])} {result['split']} samples where it is largest.")
        if result["input_kind"] == "image":
            self._show_images(result)
        else:
            self._show_rows(result)

    def _show_images(self, result: dict[str, Any]) -> None:
        self.images.widget.show()
        x = np.asarray(result["inputs"], dtype=np.float32)  # n × C × H × W
        tiles = x.transpose(0, 2, 3, 1) if x.shape[1] == 3 else x[:, 0]
        lo, hi = float(np.nanmin(tiles)), float(np.nanmax(tiles))
        if tiles.ndim == 4:
            tiles = (tiles - lo) / max(hi - lo, 1e-6)
            lo, hi = 0.0, 1.0
        columns = 3
        self.images.set_matrix(mosaic(tiles, columns), (lo, hi if hi > lo else lo + 1e-6),
                               "input value")
        for rank in range(len(tiles)):
            x0, y0 = tile_origin(rank, tiles.shape[1:3], columns)
            self.images.label(str(rank + 1), x0, y0)
        self.images.set_title("Ranked 1 (largest) to 9, left to right; details in the table")
        self._fill_table(result, with_inputs=False)

    def _show_rows(self, result: dict[str, Any]) -> None:
        self.images.widget.hide()
        self._fill_table(result, with_inputs=True)

    def _fill_table(self, result: dict[str, Any], with_inputs: bool) -> None:
        """Rank, sample index, activation and class; a row's values or text if asked."""
        self.table.show()
        count = len(result["indices"])
        labels = result.get("labels") or [None] * count
        inputs: list[Any] = result["inputs"] if with_inputs else [None] * count
        text = result["input_kind"] == "text"
        width = 0 if not with_inputs else 1 if text else len(inputs[0]) if count else 0
        headers = ["rank", "sample", "activation", "class"]
        if with_inputs:
            more = result.get("values", width)
            headers += ["text"] if text else [f"x{j}" for j in range(width)]
            if not text and more > width:
                headers[-1] += f" (of {more})"
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(count)
        self.table.verticalHeader().hide()
        for r, (index, act, label, row) in enumerate(zip(
                result["indices"], result["activations"], labels, inputs, strict=True)):
            cells = [str(r + 1), f"#{index}", f"{act:.4g}", "" if label is None else str(label)]
            if row is not None:
                cells += [row] if text else [f"{v:.3g}" for v in row]
            for c, cell in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(cell))
        self.table.resizeColumnsToContents()
