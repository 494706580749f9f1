"""Mutants of what a run writes: weights-file metadata and checkpoints.

Plain functions of a ``random.Random``, so a fuzz harness can draw as many as it
likes (``tests/fuzz`` reuses them); the normal test run draws a few hundred. Each
mutant comes with a short description, so a failure says which one escaped.

    for what, metadata in metadata_mutants(original, random.Random(0), 300): ...
    for what, data in checkpoint_mutants(torch.load(path, weights_only=True), rng, 200): ...

Nothing here imports the project: the inputs are a safetensors metadata dict
(strings) and a checkpoint dict (tensors, numbers, lists, dicts).
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator, Mapping
from typing import Any

import torch

from tests.fuzz.json_mutants import Path, get, paths

# Values a careless edit or a hostile file puts where something else belongs.
PALETTE: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 2.5, -0.0, 10**12, -(10**12), 2**63, float("nan"),
    float("inf"), "", "x", "two", "{", [], {}, [1, "a"], [[1], [2, 3]], [0], [-1],
    [10**9, 10**9, 10**9], {"a": 1}, {"value_range": "x"},
)
# Whole metadata strings: broken JSON, JSON of the wrong kind.
TEXTS: tuple[str, ...] = (
    "", "{", "}", "[]", "{}", "1", "null", '"x"', "true", "NaN", "[[[[[[[[", '{"a":',
    "\x00", "[" * 5000, '{"version": 1}', "[1, 2, 3]",
)
# Named in issue 13: each escaped once as a raw Python error.
ISSUE_METADATA: tuple[tuple[str, str, Any], ...] = (
    ("preprocessing is '{'", "preprocessing", "{"),
    ("preprocessing is []", "preprocessing", "[]"),
    ("preprocessing is 1", "preprocessing", "1"),
    ("preprocessing is null", "preprocessing", "null"),
    ("sample_shape is null", "preprocessing.sample_shape", None),
    ("offset is missing", "preprocessing.offset", ...),
    ("extra is 'x'", "preprocessing.extra", "x"),
)


def metadata_mutants(metadata: Mapping[str, str], rng: random.Random,
                     count: int) -> Iterator[tuple[str, dict[str, str]]]:
    """``count`` mutants of a safetensors metadata dict (string keys and values)."""
    keys = sorted(metadata)
    for _ in range(count):
        out = dict(metadata)
        key = rng.choice(keys)
        roll = rng.random()
        if roll < 0.1:
            del out[key]
            what = f"without {key!r}"
        elif roll < 0.3:
            out[key] = rng.choice(TEXTS)
            what = f"{key!r} = {out[key][:20]!r}"
        elif roll < 0.4:
            cut = rng.randrange(len(out[key]) + 1)
            out[key] = out[key][:cut]
            what = f"{key!r} cut at {cut}"
        else:
            try:
                value = json.loads(out[key])
            except ValueError:  # a plain string ("format"): replace it
                out[key] = rng.choice([*TEXTS, "layerloom-checkpoint", "pt"])
                what = f"{key!r} = {out[key][:20]!r}"
            else:
                steps = []
                for _ in range(rng.choice((1, 1, 2))):
                    step, value = mutate_tree(value, rng)
                    steps.append(step)
                out[key] = json.dumps(value)
                what = f"{key!r}: " + "; ".join(steps)
        yield what, out


def issue_metadata_mutants(metadata: Mapping[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    """The mutants issue 13 names, one by one."""
    for what, dotted, value in ISSUE_METADATA:
        out = dict(metadata)
        key, _, rest = dotted.partition(".")
        if not rest:
            out[key] = value
        else:
            tree = json.loads(out[key])
            tree = delete(tree, (rest,)) if value is ... else replace(tree, (rest,), value)
            out[key] = json.dumps(tree)
        yield what, out


def checkpoint_mutants(data: Mapping[str, Any], rng: random.Random,
                       count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """``count`` mutants of a checkpoint dict (as ``torch.load(weights_only=True)`` gives)."""
    for _ in range(count):
        tree: Any = dict(data)
        steps = []
        for _ in range(rng.choice((1, 1, 1, 2))):
            step, tree = mutate_tree(tree, rng)
            steps.append(step)
        yield "; ".join(steps), tree


def mutate_tree(tree: Any, rng: random.Random) -> tuple[str, Any]:
    """One random change somewhere in nested dicts and lists; ``tree`` is left as it was."""
    path = rng.choice(paths(tree))
    value = get(tree, path)
    shown = ".".join(map(str, path)) or "<root>"
    if isinstance(value, torch.Tensor) and rng.random() < 0.7:
        what, new = mutate_tensor(value, rng)
        return f"{shown}: {what}", replace(tree, path, new)
    roll = rng.random()
    if path and roll < 0.2:
        return f"{shown} deleted", delete(tree, path)
    if isinstance(value, dict) and roll < 0.3:
        return f"{shown} + unknown key", replace(tree, path, {**value, "zz_unknown": 1})
    if isinstance(value, list) and value and roll < 0.35:
        return f"{shown} doubled", replace(tree, path, value + value[:1])
    if roll < 0.4:
        return f"{shown} wrapped in a list", replace(tree, path, [value])
    new = rng.choice(PALETTE)
    return f"{shown} = {new!r:.30}", replace(tree, path, copy.deepcopy(new))


def mutate_tensor(tensor: torch.Tensor, rng: random.Random) -> tuple[str, torch.Tensor]:
    """A tensor of the wrong size, shape, kind or values."""
    flat = tensor.detach().reshape(-1)
    choice = rng.randrange(6)
    if choice == 0:
        return "truncated", flat[: max(0, flat.numel() // 2)].clone()
    if choice == 1:
        return "flattened", flat.clone()
    if choice == 2:
        return "one more row", torch.cat([flat, flat[:1]]).clone()
    if choice == 3:
        kinds = (torch.int64, torch.bool, torch.float16, torch.complex64, torch.uint8)
        kind = rng.choice(kinds)
        return f"as {kind}", tensor.detach().to(kind)
    if choice == 4:
        return "a scalar", torch.tensor(3.0)
    filled = tensor.detach().clone()
    if filled.is_floating_point() and filled.numel():
        filled.view(-1)[0] = rng.choice((float("nan"), float("inf"), 1e30))
    return "non-finite value", filled


# -- paths into nested dicts and lists ------------------------------------------------
def replace(tree: Any, path: Path, value: Any) -> Any:
    """A copy of ``tree`` (shallow along ``path``) with the value at ``path`` replaced."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(tree, dict):
        return {**tree, head: replace(tree[head], rest, value)}
    items = list(tree)
    items[head] = replace(items[head], rest, value)
    return type(tree)(items) if isinstance(tree, tuple) else items


def delete(tree: Any, path: Path) -> Any:
    """A copy of ``tree`` without the value at ``path`` (a key, or a list item)."""
    parent, last = path[:-1], path[-1]
    container = get(tree, parent)
    if isinstance(container, dict):
        smaller: Any = {k: v for k, v in container.items() if k != last}
    else:
        smaller = [v for i, v in enumerate(container) if i != last]
    return replace(tree, parent, smaller)
