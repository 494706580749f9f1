"""Custom MIME types: a layer type dragged from the palette, and copied nodes."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QMimeData

LAYER_MIME = "application/x-layerloom-layer"
FRAGMENT_MIME = "application/x-layerloom-fragment"


def layer_mime(type_id: str) -> QMimeData:
    data = QMimeData()
    data.setData(LAYER_MIME, type_id.encode("utf-8"))
    return data


def layer_type(data: QMimeData) -> str | None:
    if not data.hasFormat(LAYER_MIME):
        return None
    return bytes(data.data(LAYER_MIME).data()).decode("utf-8") or None


def fragment_mime(fragment: dict[str, Any]) -> QMimeData:
    """Copied nodes: JSON of ``graph.commands.copy_fragment`` (readable by any window)."""
    data = QMimeData()
    text = json.dumps(fragment)
    data.setData(FRAGMENT_MIME, text.encode("utf-8"))
    data.setText(text)
    return data


def fragment(data: QMimeData | None) -> dict[str, Any] | None:
    """The copied nodes on the clipboard, or None when it holds none (or garbage)."""
    if data is None or not data.hasFormat(FRAGMENT_MIME):
        return None
    try:
        value = json.loads(bytes(data.data(FRAGMENT_MIME).data()).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(value, dict) or not isinstance(value.get("nodes"), list):
        return None
    if not isinstance(value.get("edges", []), list):
        return None
    value.setdefault("edges", [])
    return value


def loom_paths(data: QMimeData) -> list[str]:
    """Local ``.loom`` files among dropped URLs."""
    return [u.toLocalFile() for u in data.urls()
            if u.isLocalFile() and u.toLocalFile().lower().endswith(".loom")]
