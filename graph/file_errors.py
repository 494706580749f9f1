"""How a graph file's problems are told: an error naming where in the file it is."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

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


_EXPECTED = {
    "dict_type": "an object", "model_type": "an object", "model_attributes_type": "an object",
    "list_type": "a list", "tuple_type": "a list", "string_type": "a string",
    "int_type": "an integer", "int_from_float": "an integer", "float_type": "a number",
    "bool_type": "true or false", "is_instance_of": "a tensor",
}


def pydantic_problem(exc: ValidationError, show: Callable[[Any], str] = show_value
                     ) -> tuple[str, str]:
    """The first problem pydantic found, in our words: (location, reason).

    Graph files and the records stored with weights both read through pydantic; one
    wording serves both, so a user meets the same sentence for the same mistake.
    """
    errors = exc.errors(include_url=False)
    first = errors[0]
    kind = first["type"]
    loc = [p for p in first["loc"] if isinstance(p, str | int) and p != "[key]"]
    if kind == "missing":
        item = bool(loc) and isinstance(loc[-1], int)
        reason = f"required {'item' if item else 'field'} is missing"
    elif kind == "extra_forbidden":
        reason = "unknown field"
    elif kind in _EXPECTED:
        reason = f"expected {_EXPECTED[kind]}, got {show(first['input'])}"
    else:
        reason = first["msg"].removeprefix("Value error, ")
        if reason.startswith("Input should be "):
            reason = f"should be {reason.removeprefix('Input should be ')}, " \
                     f"got {show(first['input'])}"
    if len(errors) > 1:
        reason += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return location_of(loc), reason
