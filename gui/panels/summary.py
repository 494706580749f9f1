"""The summary: a Keras-style table per network and the generated PyTorch code.

Both need torch, so they refresh after a pause in editing, only while the panel
is visible, and only once torch has loaded.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontDatabase, QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from graph.memory import estimate_memory
from graph.summary import format_count, format_flops, summarize
from gui.session import Session

REFRESH_DELAY_MS = 400
MIN_HEIGHT = 36  # lets the bottom dock be short; it scrolls
HEADERS = ("Node", "Layer", "Output shape", "Params", "FLOPs")


class SummaryPanel(QWidget):
    """Network picker, summary table with totals, and read-only generated code."""

    def __init__(self) -> None:
        super().__init__()
        self.session: Session | None = None
        self._stale = True
        self.network = QComboBox()
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(MIN_HEIGHT)
        self.totals = QLabel()
        self.totals.setWordWrap(True)
        self.code = QPlainTextEdit()
        self.code.setReadOnly(True)
        self.code.setMinimumHeight(MIN_HEIGHT)
        self.code.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.code.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.copy = QPushButton("Copy code")
        self.copy.clicked.connect(self.copy_code)
        self.tabs = QTabWidget()
        table_page = QWidget()
        table_layout = QVBoxLayout(table_page)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(self.table)
        table_layout.addWidget(self.totals)
        code_page = QWidget()
        code_layout = QVBoxLayout(code_page)
        code_layout.setContentsMargins(0, 0, 0, 0)
        code_layout.addWidget(self.code)
        buttons = QHBoxLayout()
        buttons.addStretch()
        buttons.addWidget(self.copy)
        code_layout.addLayout(buttons)
        self.tabs.addTab(table_page, "Summary")
        self.tabs.addTab(code_page, "PyTorch code")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.tabs.setCornerWidget(self.network)  # beside the tabs, not above: the dock is short
        layout.addWidget(self.tabs)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_DELAY_MS)
        self._timer.timeout.connect(self._refresh_if_visible)
        self.network.currentTextChanged.connect(lambda _name: self.refresh())

    def set_session(self, session: Session) -> None:
        if self.session is not None:
            self._follow(self.session, False)
            self.session.diagnostics_changed.disconnect(self.schedule)
        self.session = session
        self._follow(session, True)
        session.diagnostics_changed.connect(self.schedule)
        self.network.blockSignals(True)
        self.network.clear()
        self.network.addItems(session.network_order())
        self.network.blockSignals(False)
        self.network.setVisible(self.network.count() > 1)
        self.schedule()

    def _follow(self, session: Session, on: bool) -> None:
        """Structural and parameter events matter here; moving nodes does not."""
        ev = session.doc.events
        for signal in (ev.node_added, ev.node_removed, ev.param_changed, ev.label_changed,
                       ev.edge_added, ev.edge_removed, ev.network_added, ev.network_removed):
            (signal.connect if on else signal.disconnect)(self._changed)

    def _changed(self, *_args: object) -> None:
        self.schedule()

    def show_network(self, name: str) -> None:
        if name and self.network.findText(name) >= 0:
            self.network.setCurrentText(name)

    def schedule(self) -> None:
        self._stale = True
        if self.isVisible():
            self._timer.start()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self._timer.start()

    def _refresh_if_visible(self) -> None:
        if self.isVisible():
            self.refresh()

    def copy_code(self) -> None:
        QGuiApplication.clipboard().setText(self.code.toPlainText())

    def refresh(self) -> None:
        """Recompute the table and code now (needs shapes, hence torch)."""
        session = self.session
        if session is None or not session.shapes_complete:
            return
        self._stale = False
        self._sync_networks()
        name = self.network.currentText()
        if name not in session.doc.networks:
            return
        rows = summarize(session.doc, name, session.shapes)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = (row.label, row.layer, row.shape_text, format_count(row.params),
                     format_flops(row.flops))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        total = sum(r.params for r in rows)
        trainable = sum(r.trainable for r in rows)
        flops = format_flops(sum(r.flops or 0 for r in rows))
        memory = estimate_memory(session.doc, session.shapes)
        self.totals.setText(f"Total params {format_count(total)} (trainable "
                            f"{format_count(trainable)}) · {flops} FLOPs per sample · "
                            f"training needs {memory.describe()}")
        self.code.setPlainText(self._code(session, name))

    def _code(self, session: Session, name: str) -> str:
        # graph.compile and graph.codegen import torch: only once it has loaded.
        from graph.codegen import generate_code
        from graph.compile import CompileError

        try:
            return generate_code(session.doc, name, shapes=session.shapes.results.get(name))
        except CompileError as exc:
            return f"# The code cannot be generated yet:\n# {exc}\n"

    def _sync_networks(self) -> None:
        assert self.session is not None
        names = self.session.network_order()
        if [self.network.itemText(i) for i in range(self.network.count())] != names:
            current = self.network.currentText()
            self.network.blockSignals(True)
            self.network.clear()
            self.network.addItems(names)
            if current in names:
                self.network.setCurrentText(current)
            self.network.blockSignals(False)
            self.network.setVisible(len(names) > 1)
