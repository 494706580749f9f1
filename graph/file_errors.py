"""How a graph file's problems are told: an error naming where in the file it is."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

Location = Sequence[str | int]


class GraphFileError(ValueError):
    """A graph file cannot be loaded. The message reads ``location: reason``.

    ``location`` is the path of the offending value, e.g.
    ``networks.main.edges[2].port`` ("" when the file as a whole is the problem),
    ``reason`` the message without it, and ``file`` the path read, when known.
    """

    def __init__(self, reason: str, location: str = "", file: str | None = None) -> None:
        self.reason = reason
        self.location = location
        self.file = file
        super().__init__(f"{location}: {reason}" if location else reason)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def location_of(parts: Location) -> str:
    """A path as messages write it: ``networks.main.nodes[3].params.kernel_size``.

    Keys that are not identifiers are quoted: ``networks["my net"].nodes[0]``.
    """
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def show_value(value: Any) -> str:
    """A short JSON rendering of a value for a message."""
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 60 else text[:57] + "…"
