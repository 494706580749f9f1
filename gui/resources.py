"""Where the bundled resources (examples, icons, styles) live."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parent.parent / "resources"
EXAMPLES = ROOT / "examples"
ICONS = ROOT / "icons"
STYLES = ROOT / "styles"
DEFAULT_EXAMPLE = EXAMPLES / "cnn_digits.loom"


def examples() -> list[Path]:
    """The example documents, sorted by name."""
    return sorted(EXAMPLES.glob("*.loom"))


# The icons draw in one neutral grey (or their own colour: train green, stop red). Each
# theme swaps the grey for its own ink, and gives disabled icons a colour that recedes
# into its background: Qt's generated disabled pixmaps lighten, which on a dark theme
# made disabled icons brighter than enabled ones.
NEUTRAL = "#6b7385"
INK = {"light": ("#4a5263", "#c3c8d1"), "dark": ("#d5dae3", "#4c5361")}  # (enabled, disabled)
SIZES = (16, 24, 32, 48)


def icon(name: str, theme: str = "light") -> QIcon:
    """An icon from ``resources/icons/<name>.svg`` drawn for ``theme`` (an empty icon when
    missing)."""
    path = ICONS / f"{name}.svg"
    if not path.exists():
        return QIcon()
    svg = path.read_text(encoding="utf-8")
    enabled, disabled = INK.get(theme, INK["light"])
    result = QIcon()
    for mode, text in ((QIcon.Mode.Normal, svg.replace(NEUTRAL, enabled)),
                       (QIcon.Mode.Disabled, _all_colours(svg, disabled))):
        renderer = QSvgRenderer(QByteArray(text.encode("utf-8")))
        for size in SIZES:
            result.addPixmap(_render(renderer, size), mode)
    return result


def _all_colours(svg: str, colour: str) -> str:
    return re.sub(r"#[0-9a-fA-F]{6}\b", colour, svg)


def _render(renderer: QSvgRenderer, size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return pixmap
