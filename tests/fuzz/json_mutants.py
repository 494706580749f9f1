"""Mutations of a JSON document, the way damage, careless edits and hostile files look:
values of the wrong type, huge, negative or not-a-number; keys removed or repeated;
long strings; lists grown; values swapped or copied elsewhere; deep nesting; text cut
short; bytes flipped. ``mutate_json`` applies one to three of them to a parsed tree."""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable
from typing import Any

Path = tuple[Any, ...]

PALETTE: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 2, 3, 7, 2.5, -0.0, 1e-320, 1e308, -1e308, 10**9, 2**31,
    2**63, 10**30, -(10**12), float("nan"), float("inf"), float("-inf"), "", "x", "main",
    "n1", "Linear", "in0", "\x00", "\ud800", "e\u0301", "\u202e", "../../etc/passwd",
    [], {}, [0], [-1], [1, 2, 3], [10**6] * 3, [1] * 100, [[1]], {"a": 1}, {"x": [None]},
)
MAX_MUTANT = 20 << 20  # beyond any reader's size limit, still quick to write
MARK = "\u0001dup"  # prefixes a copy of a key; the prefix is removed after serialising
_MARKED = re.compile(r'"\\u0001dup((?:[^"\\]|\\.)*)"')


def paths(tree: Any, at: Path = ()) -> list[Path]:
    """Every path in ``tree``, the root (``()``) included; tuples count as lists and
    anything else (a tensor) is a leaf."""
    out = [at]
    if isinstance(tree, dict):
        for key, value in tree.items():
            out += paths(value, (*at, key))
    elif isinstance(tree, list | tuple):
        for i, value in enumerate(tree):
            out += paths(value, (*at, i))
    return out


def get(tree: Any, path: Path) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def put(tree: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    get(tree, path[:-1])[path[-1]] = value
    return tree


def show(path: Path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path) or "(root)"


def _retype(tree: Any, path: Path, rng: random.Random) -> tuple[str, Any]:
    old = get(tree, path)
    value = rng.choice([v for v in PALETTE if type(v) is not type(old)])
    return f"{show(path)} = {_short(value)}", put(tree, path, value)


def _extreme(tree: Any, path: Path, rng: random.Random) -> tuple[str, Any]:
    old = get(tree, path)
    if isinstance(old, bool) or not isinstance(old, int | float):
        return _retype(tree, path, rng)
    value = rng.choice([0, -1, -old, old * 1000, 10**rng.randrange(6, 40), 2**63 - 1,
                        -(2**63), float("nan"), float("inf"), 1e300, old + 1, old - 1])
    return f"{show(path)} = {_short(value)}", put(tree, path, value)


def _delete(tree: Any, path: Path, rng: random.Random) -> tuple[str, Any]:
    if not path:
        return "root emptied", {}
    parent = get(tree, path[:-1])
    del parent[path[-1]]
    return f"{show(path)} removed", tree


def _long_string(tree: Any, path: Path, rng: random.Random) -> tuple[str, Any]:
    size = rng.choice([300, 5000, 70_000, 1_000_000])
    value = rng.choice(["x", "é", "\U0001f600", "9"]) * size
    return f"{show(path)} = a {size}-character string", put(tree, path, value)


def _grow(tree: Any, path: Path, rng: random.Random) -> tuple[str, Any]:
    lists = [p for p in paths(tree) if isinstance(get(tree, p), list) and get(tree, p)]
    if not lists:
        return _retype(tree, path, rng)
    where = rng.choice(lists)
    items = get(tree, where)
    times = rng.choice([2, 3, 10, 100])
    put(tree, where, [copy.deepcopy(v) for v in items for _ in range(times)])
    return f"{show(where)} items repeated {times}×", tree


def _swap(tree: Any, path: Path, rng: random.Random) -> tuple[str, Any]:
    other = rng.choice(paths(tree))
    if not path or not other or path[:len(other)] == other or other[:len(path)] == path:
        return _retype(tree, path, rng)
    a, b = copy.deepcopy(get(tree, path)), copy.deepcopy(get(tree, other))
    put(tree, path, b)
    put(tree, other, a)
    return f"{show(path)} swapped with {show(other)}", tree


def _copy_from(tree: Any, path: Path, rng: random.Random) -> tuple[str, Any]:
    other = rng.choice(paths(tree))
    value = copy.deepcopy(get(tree, other))
    return f"{show(path)} = copy of {show(other)}", put(tree, path, value)


def _nest(tree: Any, path: Path, rng: random.Random) -> tuple[str, Any]:
    depth = rng.choice([3, 30, 70, 500])
    value: Any = get(tree, path)
    for _ in range(depth):
        value = [value]
    return f"{show(path)} nested {depth} lists deep", put(tree, path, value)


def _repeat_key(tree: Any, path: Path, rng: random.Random) -> tuple[str, Any]:
    objects = [p for p in paths(tree) if isinstance(get(tree, p), dict) and get(tree, p)]
    if not objects:
        return _retype(tree, path, rng)
    where = rng.choice(objects)
    obj = get(tree, where)
    key = rng.choice(list(obj))
    obj[MARK + key] = _short_value(rng)  # renamed to ``key`` once serialised
    return f"{show(where)} key {key!r} repeated", tree


def _short_value(rng: random.Random) -> Any:
    return rng.choice([None, 1, "x", [], {}])


TREE_OPS: tuple[Callable[[Any, Path, random.Random], tuple[str, Any]], ...] = (
    _retype, _retype, _extreme, _extreme, _delete, _delete, _long_string, _grow, _swap,
    _copy_from, _nest, _repeat_key,
)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def mutate_json(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One to three tree mutations of the JSON in ``data``, or one of the text itself."""
    roll = rng.random()
    if roll < 0.08:
        return truncate(data, rng)
    if roll < 0.16:
        return flip_bytes(data, rng)
    tree = json.loads(data)
    done: list[str] = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        what, tree = rng.choice(TREE_OPS)(tree, rng.choice(paths(tree)), rng)
        done.append(what)
    try:
        text = _MARKED.sub(r'"\1"', json.dumps(tree, indent=rng.choice([None, 2])))
    except RecursionError:  # nested past what json writes: say so in the text itself
        done.append("nested 2,000 deep instead")
        text = "[" * 2000 + "]" * 2000
    if len(text) > MAX_MUTANT:  # keep each case quick to write and to read
        text = text[:MAX_MUTANT]
        done.append(f"cut to {MAX_MUTANT} characters")
    return "; ".join(done), text.encode("utf-8")


def truncate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    at = rng.randrange(0, max(1, len(data)))
    return f"cut at byte {at} of {len(data)}", data[:at]


def flip_bytes(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    out = bytearray(data)
    count = rng.choice([1, 2, 8, 32])
    for _ in range(count):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    return f"{count} bytes changed", bytes(out)
