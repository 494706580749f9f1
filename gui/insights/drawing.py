"""A small canvas to draw a digit on with the mouse: white ink on black, like the data."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

SIZE = 224  # drawn at 28× an 8×8 digit, 8× a 28×28 one
PEN = SIZE // 9  # thick strokes: the digits' strokes are a fifth of their height


class DrawingCanvas(QWidget):
    """Strokes drawn with the left button; ``drawn`` fires when a stroke ends."""

    drawn = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setFixedSize(SIZE, SIZE)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a digit with the mouse (fill most of the square)")
        self.image = QImage(SIZE, SIZE, QImage.Format.Format_Grayscale8)
        self.image.fill(0)
        self._last: QPointF | None = None  # the stroke under way, if any

    def clear(self) -> None:
        self.image.fill(0)
        self.update()

    def ink(self) -> np.ndarray:
        """The drawing as ink strength 0..1, SIZE×SIZE (row 0 at the top)."""
        stride = self.image.bytesPerLine()
        raw = np.frombuffer(self.image.constBits(), dtype=np.uint8, count=stride * SIZE)
        return raw.reshape(SIZE, stride)[:, :SIZE].astype(np.float32) / 255.0

    def is_blank(self) -> bool:
        return not bool(self.ink().any())

    # A stroke follows the mouse from press to release. Moves are taken while a stroke is
    # under way whatever buttons they report (tests' synthetic moves report none).
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._last = event.position()
            self._line(self._last, self._last)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._last is not None:
            point = event.position()
            self._line(self._last, point)
            self._last = point

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._last is not None and event.button() == Qt.MouseButton.LeftButton:
            self._line(self._last, event.position())
            self._last = None
            self.drawn.emit()

    def _line(self, start: QPointF, end: QPointF) -> None:
        painter = QPainter(self.image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(255, 255, 255), PEN, Qt.PenStyle.SolidLine,
                            Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        painter.drawLine(start, end)
        painter.end()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.drawImage(0, 0, self.image)
        painter.setPen(QPen(QColor(120, 120, 120), 1))
        painter.drawRect(0, 0, SIZE - 1, SIZE - 1)
        painter.end()
