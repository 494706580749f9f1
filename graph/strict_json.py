"""The first stage of loading a graph file: its text as plain JSON, and nothing more.

Python's ``json`` accepts more than JSON (NaN, Infinity, repeated keys, lone
surrogates) and nests as deep as the text does; a ``.loom`` file gets none of that.
"""

from __future__ import annotations

import json
import math
from typing import Any

from graph.file_errors import GraphFileError, location_of, show_value

MAX_DEPTH = 64  # real files nest < 10 levels; this keeps later stages far from recursion limits


class _JSONProblem(ValueError):
    """Raised by the parser hooks for JSON that Python would accept but we do not."""


def parse(text: str) -> Any:
    """Plain JSON only: no NaN or Infinity, no repeated keys, no lone surrogates."""
    if not isinstance(text, str):
        raise GraphFileError(f"expected the file's text, got {type(text).__name__}")
    try:
        data = json.loads(
            text, parse_constant=_no_constant, parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as exc:
        raise GraphFileError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except _JSONProblem as exc:
        raise GraphFileError(str(exc)) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer past Python's digit limit
        raise GraphFileError(f"not valid JSON: {exc}") from None
    _check_plain(data, [])
    return data


def _no_constant(name: str) -> Any:
    raise _JSONProblem(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _JSONProblem(f"the number {text} is too large")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _JSONProblem(f"the key {show_value(key)} appears twice in one object")
        obj[key] = value
    return obj


def _check_plain(value: Any, at: list[str | int]) -> None:
    """Refuse absurd nesting and strings that cannot be written back as UTF-8."""
    if len(at) > MAX_DEPTH:
        raise GraphFileError(f"nested more than {MAX_DEPTH} levels deep", location_of(at))
    if isinstance(value, str):
        _check_text(value, at)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, [*at, key])
            _check_plain(item, [*at, key])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_plain(item, [*at, i])


def _check_text(text: str, at: list[str | int]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = f"\\u{ord(text[exc.start]):04x}"
        raise GraphFileError(f"contains {bad}, half of a character", location_of(at)) from None
