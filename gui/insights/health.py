"""The Health tab: what looks wrong in the run, in a learner's words; a click shows the node.

The judging is ``runtime.inspect.health.HealthMonitor``'s (the command line prints
the same warnings); this tab only lists them as they come.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QTabWidget,
    QVBoxLayout,
)

from gui.insights import Insight
from gui.training import TrainingController
from runtime.inspect.health import HealthMonitor, HealthWarning

ROLE = Qt.ItemDataRole.UserRole
WAITING = "No warnings yet. During a run, problems such as dead units, vanishing or " \
          "exploding gradients or over-fitting are listed here as they appear."
WATCHING = "Watching this run: no warnings so far."
HEALTHY = "No warnings: nothing in this run looked wrong."


class HealthInsight(Insight):
    """One line per warning; clicking one selects the node it names."""

    title = "Health"

    def __init__(self, controller: TrainingController) -> None:
        super().__init__(controller)
        self.monitor = HealthMonitor()
        self.note = QLabel(WAITING)
        self.note.setWordWrap(True)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setSpacing(3)
        self.list.itemClicked.connect(self._clicked)
        self.list.itemActivated.connect(self._clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.note)
        layout.addWidget(self.list, 1)

    @property
    def warnings(self) -> list[HealthWarning]:
        return list(self.monitor.warnings)

    def clear(self) -> None:
        self.monitor = HealthMonitor(self.session.doc if self.session is not None else None)
        self.list.clear()
        self.note.setText(WAITING)
        self._retitle()

    def _retitle(self) -> None:
        """The tab says how many warnings there are: a learner on another tab sees them."""
        tabs = self.parentWidget()
        while tabs is not None and not isinstance(tabs, QTabWidget):
            tabs = tabs.parentWidget()
        if tabs is not None:
            count = len(self.monitor.warnings)
            tabs.setTabText(tabs.indexOf(self), f"{self.title} ({count})" if count else self.title)

    def on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") == "started":
            self.note.setText(WATCHING)
        for warning in self.monitor.feed(event):
            self._add(warning)
        if event.get("type") in ("finished", "failed") and not self.monitor.warnings:
            self.note.setText(HEALTHY)

    def _add(self, warning: HealthWarning) -> None:
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        item = QListWidgetItem(icon, f"Epoch {warning.epoch}: {warning.message}")
        item.setData(ROLE, (warning.network, warning.node))
        where = "Click to select the layer on the canvas." if warning.node else ""
        item.setToolTip(f"{warning.kind.replace('_', ' ')}. {where}".strip())
        self.list.addItem(item)
        self._retitle()
        count = len(self.monitor.warnings)
        self.note.setText(f"{count} warning{'s' if count > 1 else ''} in this run"
                          " (click one to show its layer):")

    def _clicked(self, item: QListWidgetItem) -> None:
        network, node = item.data(ROLE)
        if node:
            self.node_named.emit(network, node)
