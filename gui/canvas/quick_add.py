"""The quick-add popup: type to filter the catalog, Enter adds the layer."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from graph.catalog import catalog

TYPE_ROLE = Qt.ItemDataRole.UserRole


def matches(text: str, *fields: str) -> bool:
    """Every word of ``text`` occurs in one of the fields (case-insensitive)."""
    haystack = " ".join(fields).lower()
    return all(word in haystack for word in text.lower().split())


class QuickAddPopup(QFrame):
    """A popup list of layer types; ``chosen`` carries the picked type id."""

    chosen = Signal(str)

    def __init__(self) -> None:
        super().__init__(None, Qt.WindowType.Popup)
        self.setObjectName("QuickAdd")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Add layer…")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        for spec in catalog():
            item = QListWidgetItem(f"{spec.display_name}   ·  {spec.category}")
            item.setData(TYPE_ROLE, spec.id)
            item.setToolTip(spec.description)
            self.list.addItem(item)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.resize(300, 340)
        self.search.textChanged.connect(self._filter)
        self.search.installEventFilter(self)
        self.search.returnPressed.connect(self._accept)
        self.list.itemActivated.connect(self._accept)
        self.list.itemClicked.connect(self._accept)

    def popup(self, at: QPoint) -> None:
        self.search.clear()
        self._filter("")
        self.move(at)
        self.show()
        self.search.setFocus()

    def _filter(self, text: str) -> None:
        first = None
        for row in range(self.list.count()):
            item = self.list.item(row)
            spec = catalog().get(item.data(TYPE_ROLE))
            hidden = not matches(text, spec.id, spec.display_name, spec.category)
            item.setHidden(hidden)
            if not hidden and first is None:
                first = item
        if first is None:
            self.list.setCurrentRow(-1)
        else:
            self.list.setCurrentItem(first)

    def _accept(self, item: QListWidgetItem | None = None) -> None:
        item = item if isinstance(item, QListWidgetItem) else self.list.currentItem()
        if item is None or item.isHidden():
            return
        self.hide()
        self.chosen.emit(item.data(TYPE_ROLE))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                self._step(1 if event.key() == Qt.Key.Key_Down else -1)
                return True
        return super().eventFilter(watched, event)

    def _step(self, direction: int) -> None:
        rows = [r for r in range(self.list.count()) if not self.list.item(r).isHidden()]
        if not rows:
            return
        current = self.list.currentRow()
        index = rows.index(current) if current in rows else -1
        index = max(0, min(len(rows) - 1, index + direction))
        self.list.setCurrentRow(rows[index])
