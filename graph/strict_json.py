"""The first stage of loading a graph file: its text as plain JSON, and nothing more.

Python's ``json`` accepts more than JSON (NaN, Infinity, repeated keys, lone
surrogates) and nests as deep as the text does; a ``.loom`` file gets none of that.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from graph.file_errors import GraphFileError, location_of, show_value
from graph.limits import MAX_STRING_CHARS, check_string

MAX_DEPTH = 64  # real files nest < 10 levels; this keeps later stages far from recursion limits


class _JSONProblem(ValueError):
    """Raised by the parser hooks for JSON that Python would accept but we do not."""


class _Repeated(dict[str, Any]):
    """An object in which ``key`` appears twice. The parser's hook cannot tell where the
    object is, so it is marked and reported by ``_check_plain``, which knows the path."""

    key: str


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
    try:
        if not _is_plain(text, data):
            _check_plain(data, [])  # to say where
    except _RepeatedKey as exc:
        line = _line_of_key(text, exc.at, exc.key)
        where = f" (line {line})" if line is not None else ""
        raise GraphFileError(f"the key {show_value(exc.key)} appears twice in this object"
                             f"{where}; keep one of them", location_of([*exc.at, exc.key])
                             ) from None
    return data


class _RepeatedKey(Exception):
    def __init__(self, at: list[str | int], key: str) -> None:
        super().__init__(key)
        self.at, self.key = at, key


def _no_constant(name: str) -> Any:
    raise _JSONProblem(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _JSONProblem(f"the number {text} is too large")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            break
        seen.add(key)
    repeated = _Repeated(obj)
    repeated.key = key
    return repeated


def _is_plain(text: str, data: Any) -> bool:
    """Whether ``_check_plain`` passes ``data``, found without building a path for every
    value: the strings are judged from the text in one regular-expression search, and
    the tree is walked through its containers only, for their depth and repeated keys."""
    if _ODD_TEXT.search(text) or not (text.isascii() or _encodes(text)):
        return False  # perhaps: _check_plain tells
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        kind = type(value)
        if kind is _Repeated:
            return False
        if kind is not dict and kind is not list:
            continue
        items = value.values() if kind is dict else value
        if items and depth >= MAX_DEPTH:
            return False
        stack += [(item, depth + 1) for item in items
                  if type(item) is dict or type(item) is list or type(item) is _Repeated]
    return True


# What may make a string not plain: an escaped half of a character (a surrogate), an
# escaped quote (rare; it hides a literal's length from the last pattern) or a literal
# longer than a text may be (or the gap between two strings: then the slow check runs).
_ODD_TEXT = re.compile(r'\\u[dD][89a-fA-F]|\\"|"[^"]{' + str(MAX_STRING_CHARS + 1) + "}")


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_plain(value: Any, at: list[str | int]) -> None:
    """Refuse absurd nesting and strings that cannot be written back as UTF-8."""
    if len(at) > MAX_DEPTH:
        raise GraphFileError(f"nested more than {MAX_DEPTH} levels deep", location_of(at))
    if isinstance(value, str):
        check_string(value, at)
        _check_text(value, at)
    elif isinstance(value, dict):
        if isinstance(value, _Repeated):
            check_string(value.key, at)  # a location must stay readable
            raise _RepeatedKey(at, value.key)
        for key, item in value.items():
            check_string(key, at)  # the parent: a key this long makes no readable location
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


# A JSON string, or a character that opens, closes or separates.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],]')


def _line_of_key(text: str, at: list[str | int], key: str) -> int | None:
    """The line of the second ``key`` in the object at path ``at`` of valid JSON ``text``."""
    # Per open container: [is an object, its current key or index, a key comes next].
    stack: list[list[Any]] = []
    seen = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        top = stack[-1] if stack else None
        if token in ("{", "["):
            stack.append([True, None, True] if token == "{" else [False, 0, False])
        elif token in ("}", "]"):
            stack.pop()
        elif token == ",":
            if top is not None and top[0]:
                top[2] = True
            elif top is not None:
                top[1] += 1
        elif top is not None and top[0] and top[2]:  # a key
            top[1], top[2] = json.loads(token), False
            if top[1] == key and [frame[1] for frame in stack[:-1]] == at:
                seen += 1
                if seen == 2:
                    return text.count("\n", 0, match.start()) + 1
    return None
