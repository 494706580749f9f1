"""The palette: the layer catalog by category, searchable, dragged onto the canvas."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from graph.catalog import catalog
from gui import mime
from gui.canvas.quick_add import matches

TYPE_ROLE = Qt.ItemDataRole.UserRole


class PaletteTree(QTreeWidget):
    """Layer types under their categories; dragging one carries its type id."""

    def __init__(self) -> None:
        super().__init__()
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QTreeWidget.DragDropMode.DragOnly)
        self.setRootIsDecorated(True)
        for category, specs in catalog().categories().items():
            parent = QTreeWidgetItem(self, [category])
            parent.setFlags(Qt.ItemFlag.ItemIsEnabled)
            for spec in specs:
                child = QTreeWidgetItem(parent, [spec.display_name])
                child.setData(0, TYPE_ROLE, spec.id)
                child.setToolTip(0, f"<b>{spec.display_name}</b><br>{spec.description}")
                child.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                               | Qt.ItemFlag.ItemIsDragEnabled)
        self.expandAll()

    def mimeTypes(self) -> list[str]:
        return [mime.LAYER_MIME]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:
        type_id = next((i.data(0, TYPE_ROLE) for i in items if i.data(0, TYPE_ROLE)), "")
        return mime.layer_mime(type_id)

    def categories(self) -> list[QTreeWidgetItem]:
        items = (self.topLevelItem(i) for i in range(self.topLevelItemCount()))
        return [item for item in items if item is not None]

    def type_items(self) -> list[QTreeWidgetItem]:
        return [child for parent in self.categories() for child in _children(parent)]

    def item_for(self, type_id: str) -> QTreeWidgetItem | None:
        return next((i for i in self.type_items() if i.data(0, TYPE_ROLE) == type_id), None)


class PalettePanel(QWidget):
    """Search box over the palette tree; double-click asks to add the layer."""

    add_requested = Signal(str)  # layer type id

    def __init__(self) -> None:
        super().__init__()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.tree = PaletteTree()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.search.textChanged.connect(self.filter)
        self.tree.itemDoubleClicked.connect(self._double_clicked)

    def filter(self, text: str) -> None:
        for parent in self.tree.categories():
            shown = 0
            for child in _children(parent):
                spec = catalog().get(child.data(0, TYPE_ROLE))
                hide = not matches(text, spec.id, spec.display_name, spec.category,
                                   spec.description)
                child.setHidden(hide)
                shown += not hide
            parent.setHidden(shown == 0)
        self.tree.expandAll()

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        type_id = item.data(0, TYPE_ROLE)
        if type_id:
            self.add_requested.emit(type_id)


def _children(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    children = (item.child(j) for j in range(item.childCount()))
    return [child for child in children if child is not None]
