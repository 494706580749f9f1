"""The canvas background: a grid whose spacing grows as the view zooms out."""

from __future__ import annotations

import math

from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QPainter, QPen

from graph.layout import GRID
from gui.theme import CanvasColors

MAJOR_EVERY = 5
MIN_SPACING = 12.0  # device pixels between grid lines, at least


def draw_grid(painter: QPainter, rect: QRectF, colors: CanvasColors) -> None:
    """Fill ``rect`` and rule it: minor lines, and every fifth a major one."""
    painter.fillRect(rect, colors.background)
    scale = painter.worldTransform().m11()
    step = GRID
    while step * scale < MIN_SPACING:
        step *= MAJOR_EVERY
    minor: list[QLineF] = []
    major: list[QLineF] = []
    x = math.floor(rect.left() / step) * step
    while x < rect.right():
        line = QLineF(x, rect.top(), x, rect.bottom())
        (major if round(x / step) % MAJOR_EVERY == 0 else minor).append(line)
        x += step
    y = math.floor(rect.top() / step) * step
    while y < rect.bottom():
        line = QLineF(rect.left(), y, rect.right(), y)
        (major if round(y / step) % MAJOR_EVERY == 0 else minor).append(line)
        y += step
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # crisp, and cheaper
    painter.setPen(QPen(colors.grid, 0))
    painter.drawLines(minor)
    painter.setPen(QPen(colors.grid_major, 0))
    painter.drawLines(major)
    painter.restore()
