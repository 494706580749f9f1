"""Where the bundled resources (examples, icons, styles) live."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

ROOT = Path(__file__).resolve().parent.parent / "resources"
EXAMPLES = ROOT / "examples"
ICONS = ROOT / "icons"
STYLES = ROOT / "styles"
DEFAULT_EXAMPLE = EXAMPLES / "cnn_digits.loom"


def examples() -> list[Path]:
    """The example documents, sorted by name."""
    return sorted(EXAMPLES.glob("*.loom"))


def icon(name: str) -> QIcon:
    """An icon from ``resources/icons/<name>.svg`` (an empty icon when missing)."""
    path = ICONS / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()
