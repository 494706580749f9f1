"""The one shape every data source returns, and the error every data problem raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal

import numpy as np

from runtime.data.errors import DataError
from runtime.data.labels import encode_classes
from runtime.data.limits import (
    MAX_CLASSES,
    MAX_SEQUENCE_LENGTH,
    MAX_VOCAB,
    array_locator,
    check_finite,
)

__all__ = ["DataError", "Dataset", "Layout", "TargetKind", "encode_classes", "layout_of"]

TargetKind = Literal["class", "value", "sequence_class"]
Layout = Literal["tabular", "sequence", "image", "tokens", "other"]


@dataclass
class Dataset:
    """A whole data set in memory, before splitting and normalisation.

    ``x`` is float32 (features, sequences ``T×F``, images ``C×H×W``) or int64 (token
    ids). ``y`` is int64 ``(N,)`` for classes, int64 ``(N, T)`` for one class per time
    step, float32 ``(N, k)`` for values, or ``None`` when the set has no targets.
    ``value_range`` is the known range of raw values (``(0, 255)`` for 8-bit images),
    used by the ``unit`` and ``symmetric`` normalisations.
    """

    name: str
    x: np.ndarray
    y: np.ndarray | None
    target_kind: TargetKind | None
    description: str = ""
    num_classes: int | None = None
    class_names: tuple[str, ...] | None = None
    vocab_size: int | None = None
    value_range: tuple[float, float] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.x = _as_input_array(self.source, self.x, tokens=self.vocab_size is not None)
        if self.y is not None:
            self.y = _as_target_array(self.source, self.y, self.target_kind, len(self.x))
        elif self.target_kind is not None:
            raise DataError(f"{self.name}: target kind {self.target_kind!r} but no targets")
        if self.class_names is not None:
            self.class_names = tuple(str(c) for c in self.class_names)
            if self.num_classes is None:
                self.num_classes = len(self.class_names)
        _check_sizes(self)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample, without the batch dimension."""
        return tuple(int(d) for d in self.x.shape[1:])

    @property
    def source(self) -> str:
        """What messages call the data: its file's name, or the data set's name."""
        path = self.metadata.get("path")
        return PurePath(str(path)).name if path else self.name

    @property
    def notes(self) -> list[str]:
        """Warnings about the data for the user (e.g. a file outside the graph's folder)."""
        return list(self.metadata.get("notes", []))

    @property
    def layout(self) -> Layout:
        """How the sample axes are read: decides which axis normalisation works per."""
        return layout_of(self.sample_shape, self.x.dtype)


def layout_of(sample_shape: tuple[int, ...], dtype: np.dtype | str) -> Layout:
    """``tokens`` for integer ids, else by rank: features, ``T×F``, ``C×H×W``."""
    if np.issubdtype(np.dtype(dtype), np.integer):
        return "tokens"
    by_rank: dict[int, Layout] = {1: "tabular", 2: "sequence", 3: "image"}
    return by_rank.get(len(sample_shape), "other")


def _as_input_array(name: str, x: np.ndarray, tokens: bool) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0:
        raise DataError(f"{name}: expected at least one sample with a shape, got {x.shape}")
    if tokens:
        if x.dtype.kind not in "biu":
            raise DataError(f"{name}: token ids must be integers, got dtype {x.dtype}")
        return np.ascontiguousarray(x, dtype=np.int64)
    if x.dtype.kind not in "biuf":  # not complex, dates or durations
        raise DataError(f"{name}: inputs must be real numbers, got dtype {x.dtype}")
    check_finite(x, array_locator(f"{name} inputs"))
    return np.ascontiguousarray(x, dtype=np.float32)


def _as_target_array(name: str, y: np.ndarray, kind: TargetKind | None, n: int) -> np.ndarray:
    y = np.asarray(y)
    count = len(y) if y.ndim else 0  # a 0-d array is one value, not one per sample
    if count != n:
        raise DataError(f"{name}: {n} samples but {count} targets")
    if kind == "class":
        return np.ascontiguousarray(y.reshape(n), dtype=np.int64)
    if kind == "sequence_class":
        return np.ascontiguousarray(y, dtype=np.int64)
    if kind == "value":
        if y.dtype.kind not in "biuf":
            raise DataError(f"{name}: value targets must be real numbers, got dtype {y.dtype}")
        check_finite(y, array_locator(f"{name} targets"))
        return np.ascontiguousarray(y.reshape(n, -1), dtype=np.float32)
    raise DataError(f"{name}: targets given without a target kind")


def _check_sizes(dataset: Dataset) -> None:
    """Counts that size a network or a loss (classes, vocabulary, time steps) are bounded."""
    name = dataset.source
    limit = MAX_VOCAB if dataset.target_kind == "sequence_class" else MAX_CLASSES
    if dataset.num_classes is not None and not 0 < dataset.num_classes <= limit:
        raise DataError(f"{name}: {dataset.num_classes:,} classes; at most {limit:,} are "
                        "allowed")
    if dataset.vocab_size is not None and not 0 < dataset.vocab_size <= MAX_VOCAB:
        raise DataError(f"{name}: a vocabulary of {dataset.vocab_size:,} tokens; at most "
                        f"{MAX_VOCAB:,} are allowed")
    if dataset.layout in ("tokens", "sequence") and dataset.x.shape[1] > MAX_SEQUENCE_LENGTH:
        raise DataError(f"{name}: sequences of {dataset.x.shape[1]:,} steps; at most "
                        f"{MAX_SEQUENCE_LENGTH:,} are allowed")
