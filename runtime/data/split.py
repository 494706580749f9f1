"""Train / validation / test index splits, reproducible from the split seed alone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graph.training import SplitSpec
from runtime.data.dataset import DataError


@dataclass(frozen=True)
class SplitIndices:
    """Sorted, disjoint row indices of each split; together they cover every row."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"train": self.train, "val": self.val, "test": self.test}


def split_sizes(n: int, spec: SplitSpec) -> tuple[int, int, int]:
    """Rounded sizes; a non-zero fraction always gets at least one sample."""
    def size(fraction: float) -> int:
        return 0 if fraction == 0 else max(1, round(fraction * n))

    n_val, n_test = size(spec.val), size(spec.test)
    n_train = n - n_val - n_test
    if n_train < 1:
        raise DataError(f"{n} samples are too few to split {spec.train:g} / {spec.val:g} / "
                        f"{spec.test:g} into train / val / test")
    return n_train, n_val, n_test


def split_indices(n: int, spec: SplitSpec, labels: np.ndarray | None = None) -> SplitIndices:
    """Split ``range(n)`` with ``spec.seed``; stratified by ``labels`` when given."""
    _, n_val, n_test = split_sizes(n, spec)
    rng = np.random.default_rng(spec.seed)
    rows = np.arange(n)
    if labels is None:
        order = rng.permutation(n)
        test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    else:
        rest, test = _stratified_take(rows, labels, n_test, rng)
        train, val = _stratified_take(rest, labels[rest], n_val, rng)
    return SplitIndices(np.sort(train), np.sort(val), np.sort(test))


def _stratified_take(rows: np.ndarray, labels: np.ndarray, count: int,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Take ``count`` of ``rows`` keeping class proportions; returns (kept, taken).

    Each class gives the floor of its share; the leftover places go to the classes
    with the largest remainders (ties broken at random), so totals are exact.
    """
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    share = counts * (count / len(rows))
    quota = np.floor(share).astype(np.int64)
    leftover = count - int(quota.sum())
    if leftover:
        tie_break = rng.random(len(classes))
        order = np.lexsort((tie_break, -(share - quota)))
        quota[order[:leftover]] += 1
    taken = [rng.permutation(rows[inverse == k])[: quota[k]] for k in range(len(classes))]
    taken_rows = np.concatenate(taken)
    return np.setdiff1d(rows, taken_rows), taken_rows
