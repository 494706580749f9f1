"""The bar above the canvas while the open document trains: why editing waits, and Stop.

A run trains a snapshot of the document; its weights fit the graph as it was when
the run started. Editing the graph meanwhile would leave the run's weights fitting
nothing the window shows, so edits wait for the run to end (moving nodes and
selecting them to inspect still work).
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

LOCKED = ("Training is running: the network cannot be edited until the run ends, so the "
          "weights it saves fit the graph. You can still select, move and inspect nodes.")


class RunBanner(QFrame):
    """Hidden unless the open document is the one training."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("RunBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#RunBanner { background: #fff4d6; border: 1px solid #e0b84a; }"
                           "#RunBanner QLabel { color: #4a3a00; }")
        self.text = QLabel(LOCKED)
        self.text.setWordWrap(True)
        self.stop = QPushButton("Stop training")
        self.stop.setToolTip("Stop after the current step; the weights so far are saved")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 6, 4)
        row.addWidget(self.text, 1)
        row.addWidget(self.stop)
        self.hide()
