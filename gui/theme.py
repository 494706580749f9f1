"""Light and dark themes: a Qt palette, a style sheet and the canvas colours."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from gui.resources import STYLES


@dataclass(frozen=True)
class CanvasColors:
    """Colours the canvas items paint with (never stored in the document)."""

    background: QColor
    grid: QColor
    grid_major: QColor
    node: QColor
    node_border: QColor
    text: QColor
    muted: QColor
    selected: QColor
    error: QColor
    warning: QColor
    wire: QColor
    wire_unknown: QColor
    label_bg: QColor
    port: QColor


def _c(hex_rgb: str) -> QColor:
    return QColor(hex_rgb)


LIGHT = CanvasColors(
    background=_c("#f4f5f7"), grid=_c("#eaecf0"), grid_major=_c("#dde0e6"),
    node=_c("#ffffff"), node_border=_c("#b7bcc6"), text=_c("#1d2330"), muted=_c("#5d6575"),
    selected=_c("#2f7de1"), error=_c("#d93a3a"), warning=_c("#e0a000"),
    wire=_c("#6b7385"), wire_unknown=_c("#b5bac4"), label_bg=_c("#ffffff"), port=_c("#8a93a5"),
)

DARK = CanvasColors(
    background=_c("#1e2127"), grid=_c("#23272d"), grid_major=_c("#2b3037"),
    node=_c("#2c313a"), node_border=_c("#4a5160"), text=_c("#e6e9ef"), muted=_c("#a3abbb"),
    selected=_c("#4c9bff"), error=_c("#ff5c5c"), warning=_c("#f2b937"),
    wire=_c("#9aa3b5"), wire_unknown=_c("#5a6170"), label_bg=_c("#23272e"), port=_c("#a3abbb"),
)

THEMES = {"light": LIGHT, "dark": DARK}

# Header stripe colour per catalog category (the same in both themes).
CATEGORY_COLORS: dict[str, QColor] = {
    "Input / Output": _c("#2e9d6a"),
    "Dense": _c("#3f7fd6"),
    "Activations": _c("#d9822b"),
    "Convolution": _c("#8a5cd0"),
    "Recurrent": _c("#c4457a"),
    "Attention": _c("#1f9fb0"),
    "Merge": _c("#7a8a2e"),
}
DEFAULT_CATEGORY_COLOR = _c("#7d8594")


# Marks drawn from a shape every font has: "⛔" is missing from common Linux fonts and
# showed as an empty box.
SEVERITY = {"error": ("#d93a3a", "Error"), "warning": ("#d08e00", "Warning")}


def problems_html(problems: Iterable[tuple[str, str]]) -> str:
    """(severity, message) pairs as rich text, one per line, each with a coloured mark."""
    lines = []
    for severity, message in problems:
        colour, word = SEVERITY.get(severity, SEVERITY["warning"])
        lines.append(f'<span style="color:{colour}">●</span> <b>{word}:</b> '
                     f"{html.escape(message)}")
    return "<br>".join(lines)


def canvas_colors(name: str) -> CanvasColors:
    return THEMES.get(name, LIGHT)


def _palette(dark: bool) -> QPalette:
    pal = QPalette()
    if not dark:
        return QApplication.style().standardPalette()
    roles = {
        QPalette.ColorRole.Window: "#25282e", QPalette.ColorRole.WindowText: "#e6e9ef",
        QPalette.ColorRole.Base: "#1c1f24", QPalette.ColorRole.AlternateBase: "#262a31",
        QPalette.ColorRole.ToolTipBase: "#2c313a", QPalette.ColorRole.ToolTipText: "#e6e9ef",
        QPalette.ColorRole.Text: "#e6e9ef", QPalette.ColorRole.Button: "#2c313a",
        QPalette.ColorRole.ButtonText: "#e6e9ef", QPalette.ColorRole.BrightText: "#ff5c5c",
        QPalette.ColorRole.Highlight: "#3d7fd9", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#6aa9ff", QPalette.ColorRole.PlaceholderText: "#7d8594",
    }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7280"))
    return pal


_applied: dict[int, str] = {}  # id(app) -> theme name, to skip re-polishing every widget


def apply_theme(app: QApplication, name: str) -> CanvasColors:
    """Switch the whole application to theme ``name`` ("light" or "dark")."""
    name = name if name in THEMES else "light"
    if _applied.get(id(app)) == name:
        return THEMES[name]
    _applied[id(app)] = name
    if app.style().name().lower() != "fusion":  # re-setting it re-polishes every widget
        app.setStyle("Fusion")
    app.setPalette(_palette(name == "dark"))
    qss = STYLES / f"{name}.qss"
    app.setStyleSheet(qss.read_text(encoding="utf-8") if qss.exists() else "")
    return THEMES[name]
