"""Normalisation fitted on the training split, as a record evaluation and export reuse.

Every normalisation is the affine map ``(x - offset) / scale`` with per-feature
(tabular, sequences) or per-channel (images) constants, so one small JSON record
describes it and ``invert`` is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runtime.data.dataset import DataError, Dataset, Layout, TargetKind, layout_of
from runtime.data.limits import first_nonfinite, quote

NORMALIZATIONS = ("none", "standard", "minmax", "unit", "symmetric")
FORMAT_VERSION = 1


@dataclass(eq=False)
class Preprocessing:
    """How raw samples become network inputs, plus what the outputs mean.

    ``apply`` and ``invert`` take one sample or a batch, as a NumPy array or a torch
    tensor, and return the same kind.
    """

    kind: str
    sample_shape: tuple[int, ...]
    offset: np.ndarray
    scale: np.ndarray
    dtype: str = "float32"
    dataset: str = ""
    target_kind: TargetKind | None = None
    num_classes: int | None = None
    class_names: tuple[str, ...] | None = None
    vocab_size: int | None = None
    feature_names: tuple[str, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def layout(self) -> Layout:
        return layout_of(self.sample_shape, self.dtype)

    def apply(self, x: Any) -> Any:
        """Raw values → network inputs."""
        self._check_shape(x)
        if self.kind == "none" or self.dtype == "int64":
            return x
        offset, scale = self._constants(x)
        return (x - offset) / scale

    def invert(self, x: Any) -> Any:
        """Network inputs (or reconstructions) → raw values."""
        self._check_shape(x)
        if self.kind == "none" or self.dtype == "int64":
            return x
        offset, scale = self._constants(x)
        return x * scale + offset

    def _check_shape(self, x: Any) -> None:
        shape = tuple(x.shape)
        rank = len(self.sample_shape)
        if shape[-rank:] != self.sample_shape or len(shape) not in (rank, rank + 1):
            raise DataError(f"expected samples of shape {self.sample_shape} (or a batch of "
                            f"them), got {shape}")

    def _constants(self, x: Any) -> tuple[Any, Any]:
        if isinstance(x, np.ndarray):
            dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
            return self.offset.astype(dtype), self.scale.astype(dtype)
        import torch  # only when handed tensors: keeps this module importable without torch

        dtype = x.dtype if x.is_floating_point() else torch.float32
        return (torch.as_tensor(self.offset, dtype=dtype, device=x.device),
                torch.as_tensor(self.scale, dtype=dtype, device=x.device))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable record (stored with checkpoints and exports)."""
        return {
            "version": FORMAT_VERSION, "kind": self.kind, "sample_shape": list(self.sample_shape),
            "dtype": self.dtype, "offset": self.offset.tolist(), "scale": self.scale.tolist(),
            "dataset": self.dataset, "target_kind": self.target_kind,
            "num_classes": self.num_classes,
            "class_names": list(self.class_names) if self.class_names is not None else None,
            "vocab_size": self.vocab_size,
            "feature_names": list(self.feature_names) if self.feature_names else None,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        version = data.get("version")
        if version != FORMAT_VERSION:
            raise DataError(f"unsupported preprocessing record version {version!r}")
        if data.get("kind") not in NORMALIZATIONS:
            raise DataError(f"unknown normalisation {data.get('kind')!r}")
        names = data.get("class_names")
        features = data.get("feature_names")
        return cls(
            kind=data["kind"], sample_shape=tuple(int(d) for d in data["sample_shape"]),
            offset=np.asarray(data["offset"], dtype=np.float32),
            scale=np.asarray(data["scale"], dtype=np.float32), dtype=data.get("dtype", "float32"),
            dataset=data.get("dataset", ""), target_kind=data.get("target_kind"),
            num_classes=data.get("num_classes"),
            class_names=tuple(names) if names is not None else None,
            vocab_size=data.get("vocab_size"),
            feature_names=tuple(features) if features else None,
            extra=dict(data.get("extra") or {}),
        )


def stat_shape(sample_shape: tuple[int, ...], layout: Layout) -> tuple[int, ...]:
    """Shape of the constants, broadcastable against one sample or a batch."""
    if layout == "tabular":
        return sample_shape
    if layout == "sequence":
        return (1, sample_shape[1])  # per feature, shared over time steps
    if layout == "image":
        return (sample_shape[0], 1, 1)  # per channel
    return tuple(1 for _ in sample_shape)


def _reduce_axes(ndim: int, layout: Layout) -> tuple[int, ...]:
    """Batch axes the constants are shared over: everything but features or channels."""
    if layout == "tabular":
        return (0,)
    if layout == "sequence":
        return (0, 1)
    if layout == "image":
        return (0, 2, 3)
    return tuple(range(ndim))


def fit_statistics(x_train: np.ndarray, kind: str, layout: Layout,
                   value_range: tuple[float, float] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``offset`` and ``scale`` for ``kind``, computed from the training samples only.

    ``unit`` and ``symmetric`` use the known ``value_range`` of images (0..255, 0..16);
    without one (tabular data, images of unknown range) they use the training min/max.
    """
    if kind not in NORMALIZATIONS:
        raise DataError(f"unknown normalisation {kind!r}; choose one of "
                        f"{', '.join(NORMALIZATIONS)}")
    shape = stat_shape(tuple(x_train.shape[1:]), layout)
    if kind == "none" or layout == "tokens":
        return np.zeros(shape, np.float32), np.ones(shape, np.float32)
    axes = _reduce_axes(x_train.ndim, layout)
    data = x_train.astype(np.float64, copy=False)
    if kind == "standard":
        offset, scale = data.mean(axis=axes), data.std(axis=axes)
    else:
        if value_range is not None and layout == "image" and kind != "minmax":
            lo, hi = np.full(shape, value_range[0]), np.full(shape, value_range[1])
        else:
            lo, hi = data.min(axis=axes), data.max(axis=axes)
        if kind == "symmetric":
            offset, scale = (lo + hi) / 2.0, (hi - lo) / 2.0
        else:
            offset, scale = lo, hi - lo
    offset = np.asarray(offset, dtype=np.float64).reshape(shape)
    scale = np.asarray(scale, dtype=np.float64).reshape(shape)
    # A constant feature (a border pixel that is always 0) would divide by zero.
    scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, 1.0)
    return offset.astype(np.float32), scale.astype(np.float32)


def fit_preprocessing(dataset: Dataset, train_rows: np.ndarray, kind: str) -> Preprocessing:
    """The record for ``dataset`` with constants fitted on ``dataset.x[train_rows]``."""
    tokens = dataset.layout == "tokens"
    kind = "none" if tokens else kind  # token ids are never normalised
    offset, scale = fit_statistics(dataset.x[train_rows], kind, dataset.layout,
                                   dataset.value_range)
    names = dataset.metadata.get("feature_names")
    return Preprocessing(
        kind=kind, sample_shape=dataset.sample_shape, offset=offset, scale=scale,
        dtype="int64" if tokens else "float32", dataset=dataset.name,
        target_kind=dataset.target_kind, num_classes=dataset.num_classes,
        class_names=dataset.class_names, vocab_size=dataset.vocab_size,
        feature_names=tuple(names) if names else None,
        # Prediction on new files scales them into the data set's own range.
        extra={"value_range": list(dataset.value_range)} if dataset.value_range else {},
    )


def check_normalised(dataset: Dataset, kind: str, x: np.ndarray, rows: np.ndarray) -> None:
    """Refuse normalised samples ``x`` (of ``dataset.x[rows]``) that overflowed float32.

    Finite raw values can still overflow: ``minmax`` on a column spanning ±3e38
    divides a difference of 6e38. Left alone, that ends a run as "loss became NaN".
    """
    index = first_nonfinite(x)
    if index is None:
        return
    sample, rest = int(rows[index[0]]), index[1:]
    raise DataError(f"{_locate(dataset, sample, rest)}: value {quote(dataset.x[(sample, *rest)])}"
                    f" overflows 32-bit floats after {kind!r} normalisation; rescale that "
                    "column or choose another normalisation")


def _locate(dataset: Dataset, sample: int, rest: tuple[int, ...]) -> str:
    """``file, row 7, column 'price'`` for a CSV; ``npz, sample 6, position (0, 3)`` else."""
    meta, source = dataset.metadata, dataset.source
    rows, names = meta.get("source_rows"), meta.get("feature_names")
    if rows is not None and names and len(rest) == 1:
        return f"{source}, row {int(rows[sample])}, column {quote(names[rest[0]])}"
    where = f"{source}, sample {sample}"
    return where + (f", position {rest[0] if len(rest) == 1 else rest}" if rest else "")
