"""The problems list: validation diagnostics; clicking one shows its node."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QStyle

from gui.session import Session

WHERE_ROLE = Qt.ItemDataRole.UserRole


class ProblemsPanel(QListWidget):
    """One row per diagnostic, errors first within each network."""

    node_activated = Signal(str, str)  # network, node id

    def __init__(self) -> None:
        super().__init__()
        self.session: Session | None = None
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        self.itemClicked.connect(self._clicked)
        self.itemActivated.connect(self._clicked)

    def set_session(self, session: Session) -> None:
        if self.session is not None:
            self.session.diagnostics_changed.disconnect(self.refresh)
        self.session = session
        session.diagnostics_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.clear()
        if self.session is None:
            return
        style = self.style()
        icons = {
            "error": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
            "warning": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
        }
        diagnostics = sorted(self.session.diagnostics, key=lambda d: d.severity != "error")
        for d in diagnostics:
            where = f"[{d.network}] " if d.network and len(self.session.doc.networks) > 1 else ""
            item = QListWidgetItem(icons[d.severity], f"{where}{d.message}")
            item.setData(WHERE_ROLE, (d.network, d.node))
            item.setToolTip(d.message)
            self.addItem(item)
        if not diagnostics and self.session.shapes_complete:
            item = QListWidgetItem(
                style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton), "No problems")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.addItem(item)

    def counts(self) -> tuple[int, int]:
        """(errors, warnings) shown."""
        found = self.session.diagnostics if self.session else []
        errors = sum(d.severity == "error" for d in found)
        return errors, len(found) - errors

    def _clicked(self, item: QListWidgetItem) -> None:
        where = item.data(WHERE_ROLE)
        if where and where[1]:
            self.node_activated.emit(where[0], where[1])
