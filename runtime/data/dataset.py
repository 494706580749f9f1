"""The one shape every data source returns, and the error every data problem raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

TargetKind = Literal["class", "value", "sequence_class"]
Layout = Literal["tabular", "sequence", "image", "tokens", "other"]


class DataError(ValueError):
    """A data set cannot be loaded or prepared; the message names the culprit."""


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
        self.x = _as_input_array(self.name, self.x, tokens=self.vocab_size is not None)
        if self.y is not None:
            self.y = _as_target_array(self.name, self.y, self.target_kind, len(self.x))
        elif self.target_kind is not None:
            raise DataError(f"{self.name}: target kind {self.target_kind!r} but no targets")
        if self.class_names is not None:
            self.class_names = tuple(str(c) for c in self.class_names)
            if self.num_classes is None:
                self.num_classes = len(self.class_names)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample, without the batch dimension."""
        return tuple(int(d) for d in self.x.shape[1:])

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


def encode_classes(values: np.ndarray, keep_ids: bool = False
                   ) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map arbitrary labels (strings or numbers) to ids 0..K-1 in sorted label order.

    With ``keep_ids``, non-negative integer labels stay as they are (classes ``0..max``),
    so a subset that lacks some digit still calls a 7 class 7.
    """
    values = np.asarray(values)
    if keep_ids and np.issubdtype(values.dtype, np.integer) and values.size and values.min() >= 0:
        top = int(values.max())
        return values.astype(np.int64).reshape(-1), tuple(str(k) for k in range(top + 1))
    labels, codes = np.unique(values, return_inverse=True)
    names = tuple(_label_name(v) for v in labels)
    return codes.astype(np.int64).reshape(-1), names


def _label_name(value: Any) -> str:
    # 3.0 reads better as "3" in a confusion matrix.
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _as_input_array(name: str, x: np.ndarray, tokens: bool) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0:
        raise DataError(f"{name}: expected at least one sample with a shape, got {x.shape}")
    if tokens:
        return np.ascontiguousarray(x, dtype=np.int64)
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{name}: inputs must be numeric, got dtype {x.dtype}")
    return np.ascontiguousarray(x, dtype=np.float32)


def _as_target_array(name: str, y: np.ndarray, kind: TargetKind | None, n: int) -> np.ndarray:
    y = np.asarray(y)
    if len(y) != n:
        raise DataError(f"{name}: {n} samples but {len(y)} targets")
    if kind == "class":
        return np.ascontiguousarray(y.reshape(n), dtype=np.int64)
    if kind == "sequence_class":
        return np.ascontiguousarray(y, dtype=np.int64)
    if kind == "value":
        return np.ascontiguousarray(y.reshape(n, -1), dtype=np.float32)
    raise DataError(f"{name}: targets given without a target kind")
