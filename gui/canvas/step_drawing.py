"""Painting one node's output record (``runtime.inspect.forward.ForwardRecord``) small.

Feature maps become a grid of grey images, vectors a strip of bars (up for positive,
down for negative), sequences a heat-map; each scaled to the record's own range, so
the shapes are comparable within a node and the numbers beside them say the scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPainter, QPen

POSITIVE = QColor("#3f7fd6")
NEGATIVE = QColor("#d9822b")
COLD = QColor("#3b6fd6")  # small gradient norms
WARM = QColor("#f2b937")
HOT = QColor("#d93a3a")  # large ones


COMPACT = 22.0  # picture height of a compact card (drawn over the node's body)


def image_columns(count: int, compact: bool = False) -> int:
    """Maps per row: a compact card always lays out 8 (one short row)."""
    return 8 if compact else min(4, max(1, count))


def record_height(record: Mapping[str, Any], width: float, compact: bool = False) -> float:
    """How tall the drawing of ``record`` is at ``width`` (``compact``: one short row)."""
    kind = record.get("kind")
    values = record.get("values") or []
    if kind == "image" and values:
        cols = image_columns(len(values), compact)
        rows = math.ceil(len(values) / cols)
        cell = (width - (cols - 1) * 3) / cols
        h, w = len(values[0]), len(values[0][0]) if values[0] else 1
        return rows * cell * min(1.0, h / max(w, 1)) + (rows - 1) * 3
    if compact:
        return COMPACT
    if kind == "sequence" and values:
        return min(64.0, max(24.0, 4.0 * len(values)))
    return 34.0


def paint_record(painter: QPainter, rect: QRectF, record: Mapping[str, Any],
                 muted: QColor, compact: bool = False) -> None:
    kind = record.get("kind")
    values = record.get("values") or []
    if not values:
        return
    if kind == "image":
        _paint_maps(painter, rect, values, image_columns(len(values), compact))
    elif kind == "sequence":
        _paint_image(painter, rect, values, diverging=True)
    else:
        _paint_bars(painter, rect, values, muted)


def _range(rows: Sequence[Sequence[float]]) -> tuple[float, float]:
    flat = [v for row in rows for v in row]
    return (min(flat), max(flat)) if flat else (0.0, 1.0)


def _grey(value: float, low: float, high: float) -> int:
    span = high - low
    return int(255 * (value - low) / span) if span > 0 else 128


def _diverging(value: float, bound: float) -> int:
    """Blue for negative, white for zero, orange for positive (as 0xRRGGBB)."""
    t = max(-1.0, min(1.0, value / bound)) if bound > 0 else 0.0
    end = POSITIVE if t >= 0 else NEGATIVE
    t = abs(t)
    r = int(255 + (end.red() - 255) * t)
    g = int(255 + (end.green() - 255) * t)
    b = int(255 + (end.blue() - 255) * t)
    return (r << 16) | (g << 8) | b


def _image(rows: Sequence[Sequence[float]], diverging: bool, low: float,
           high: float) -> QImage:
    height, width = len(rows), max(len(r) for r in rows)
    image = QImage(width, height, QImage.Format.Format_RGB32)
    bound = max(abs(low), abs(high))
    for y, row in enumerate(rows):
        for x, value in enumerate(row):
            if diverging:
                image.setPixel(x, y, 0xFF000000 | _diverging(value, bound))
            else:
                level = _grey(value, low, high)
                image.setPixel(x, y, 0xFF000000 | (level << 16) | (level << 8) | level)
    return image


def _paint_image(painter: QPainter, rect: QRectF, rows: Sequence[Sequence[float]],
                 diverging: bool, span: tuple[float, float] | None = None) -> None:
    low, high = span if span is not None else _range(rows)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
    painter.drawImage(rect, _image(rows, diverging, low, high))


def _paint_maps(painter: QPainter, rect: QRectF, maps: Sequence[Any], cols: int) -> None:
    cell = (rect.width() - (cols - 1) * 3) / cols
    span = _range([row for m in maps for row in m])
    for i, rows in enumerate(maps):
        h, w = len(rows), len(rows[0]) if rows else 1
        tall = cell * min(1.0, h / max(w, 1))
        x = rect.left() + (i % cols) * (cell + 3)
        y = rect.top() + (i // cols) * (tall + 3)
        _paint_image(painter, QRectF(x, y, cell, tall), rows, False, span)


def _paint_bars(painter: QPainter, rect: QRectF, values: Sequence[float],
                muted: QColor) -> None:
    bound = max((abs(v) for v in values), default=0.0) or 1.0
    has_negative = any(v < 0 for v in values)
    zero = rect.center().y() if has_negative else rect.bottom()
    reach = rect.height() / 2 if has_negative else rect.height()
    step = rect.width() / len(values)
    painter.setPen(QPen(muted, 0.8))
    painter.drawLine(QPointF(rect.left(), zero), QPointF(rect.right(), zero))
    painter.setPen(Qt.PenStyle.NoPen)
    for i, value in enumerate(values):
        height = reach * abs(value) / bound
        top = zero - height if value >= 0 else zero
        painter.setBrush(POSITIVE if value >= 0 else NEGATIVE)
        painter.drawRect(QRectF(rect.left() + i * step + 0.15 * step, top,
                                max(0.8, 0.7 * step), max(height, 0.6)))


def heat(t: float) -> QColor:
    """Colour for ``t`` in [0, 1]: blue (small) → yellow → red (large)."""
    t = max(0.0, min(1.0, t))
    a, b, u = (COLD, WARM, t * 2) if t < 0.5 else (WARM, HOT, (t - 0.5) * 2)
    return QColor(int(a.red() + (b.red() - a.red()) * u),
                  int(a.green() + (b.green() - a.green()) * u),
                  int(a.blue() + (b.blue() - a.blue()) * u))


def log_scale(values: Sequence[float]) -> tuple[float, float]:
    """The range of log10 of the positive finite ``values`` (for ``heat``)."""
    logs = [math.log10(v) for v in values if v > 0 and math.isfinite(v)]
    return (min(logs), max(logs)) if logs else (0.0, 0.0)


def heat_of(value: float, span: tuple[float, float]) -> float:
    """Where ``value`` lies on the log scale ``span`` (0: the smallest, 1: the largest)."""
    low, high = span
    if value <= 0 or not math.isfinite(value):
        return 0.0 if value <= 0 else 1.0
    return 0.5 if high <= low else (math.log10(value) - low) / (high - low)


def number(value: float) -> str:
    """A number as the overlay writes it: 4 significant digits, exponent when tiny/huge."""
    if value == 0 or (1e-3 <= abs(value) < 1e4):
        return f"{value:.4g}"
    return f"{value:.3e}"


def short_number(value: float) -> str:
    """A setting as it is written by hand: 3 significant digits, trailing zeros and the
    exponent's padding dropped (4e-4, 0.01, 1.5e-3)."""
    if value == 0 or not math.isfinite(value) or 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def wrap(text: str, metrics: QFontMetricsF, width: float) -> list[str]:
    """``text`` in lines no wider than ``width``: a card's text is never cut short. Parts
    set apart by two spaces ("mean 0.12  std 1.5") break between them first, so a
    number stays beside its name."""
    lines: list[str] = []
    for chunk in text.split("  "):
        parts = _words(chunk, metrics, width)
        if lines and metrics.horizontalAdvance(f"{lines[-1]}  {parts[0]}") <= width:
            lines[-1] = f"{lines[-1]}  {parts.pop(0)}"
        lines += parts
    return lines


def _words(text: str, metrics: QFontMetricsF, width: float) -> list[str]:
    """``text`` broken between words (a word wider than ``width`` where it must)."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if not line or metrics.horizontalAdvance(candidate) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
        while metrics.horizontalAdvance(line) > width and len(line) > 1:
            cut = len(line) - 1
            while cut > 1 and metrics.horizontalAdvance(line[:cut]) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    return [*lines, line]
