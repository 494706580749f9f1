"""A look at a data set before training: some samples, the class balance, the splits.

``preview`` loads and splits the data exactly as a run would (``prepare``), so
the sizes shown are the run's, and a data problem is the run's own message. The
samples are raw (before normalisation), chosen from the train split by its
shuffled order; what they are decides how the window draws them (``kind``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from graph.training import DataSpec
from runtime.data.pipeline import prepare
from runtime.data.text import is_corpus

Kind = Literal["image", "points", "table", "sequence", "text"]
SHOWN = 32  # samples on show (a 2-D set shows every point up to MAX_POINTS)
MAX_POINTS = 2000
EXCERPT = 1200  # characters of a corpus


@dataclass
class DataPreview:
    """What the window shows of a data set; plain data, drawn by ``gui.data_preview``."""

    name: str
    description: str
    kind: Kind
    sample_shape: tuple[int, ...]
    samples: np.ndarray  # raw samples (points: every point shown)
    labels: list[str]  # per sample: its class name or target value(s); may be empty
    split_sizes: dict[str, int]
    class_names: list[str] = field(default_factory=list)
    class_counts: list[int] = field(default_factory=list)  # over the whole set
    point_classes: np.ndarray | None = None  # points: class index per point, if classes
    targets: np.ndarray | None = None  # value targets of the samples shown (N×k)
    text: str = ""  # a corpus excerpt, or texts decoded from character ids
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.split_sizes.values())


def _kind(layout: str, sample_shape: tuple[int, ...], corpus: bool) -> Kind:
    if corpus:
        return "text"
    if layout == "image":
        return "image"
    if layout == "sequence":
        return "sequence"
    if layout == "tabular" and sample_shape == (2,):
        return "points"
    return "table"


def _label(y: np.ndarray | None, index: int, names: tuple[str, ...] | None) -> str:
    if y is None:
        return ""
    value = y[index]
    if names is not None and np.ndim(value) == 0:
        return names[int(value)]
    flat = np.asarray(value).reshape(-1)
    shown = ", ".join(f"{v:.4g}" for v in flat[:4])
    return shown + (" …" if len(flat) > 4 else "")


def _decoded(rows: np.ndarray, alphabet: str) -> str:
    """Rows of character ids (0: padding) as lines of text."""
    return "\n".join("".join(alphabet[i - 1] for i in row if 0 < i <= len(alphabet))
                     for row in rows)


def preview(spec: DataSpec, task: str, base_dir: Path | None = None,
            shown: int = SHOWN) -> DataPreview:
    """Load ``spec`` as a run of ``task`` would and describe it (raises ``DataError``)."""
    prepared = prepare(spec, task, base_dir)
    dataset = prepared.dataset
    corpus = is_corpus(dataset)
    kind = _kind(dataset.layout, dataset.sample_shape, corpus)
    order = prepared.train.indices
    if kind == "points":  # every point (up to a bound) with its split
        order = np.concatenate([prepared.train.indices, prepared.val.indices,
                                prepared.test.indices])[:MAX_POINTS]
    rows = order[:shown] if kind != "points" else order
    names = dataset.class_names
    labels = [_label(dataset.y, int(i), names) for i in rows]
    result = DataPreview(
        name=dataset.name, description=dataset.description, kind=kind,
        sample_shape=dataset.sample_shape, samples=dataset.x[rows], labels=labels,
        split_sizes={s: len(prepared.split(s)) for s in ("train", "val", "test")},
        notes=dataset.notes)
    if dataset.target_kind == "class" and dataset.y is not None and names is not None:
        result.class_names = list(names)
        result.class_counts = np.bincount(dataset.y, minlength=len(names)).tolist()
        if kind == "points":
            result.point_classes = dataset.y[rows]
    if dataset.target_kind == "value" and dataset.y is not None:
        result.targets = dataset.y[rows]
    if corpus:
        result.text = str(dataset.metadata["text"])[:EXCERPT]
    elif "alphabet" in dataset.metadata:
        result.text = _decoded(dataset.x[rows], str(dataset.metadata["alphabet"]))
        result.kind = "text"
    return result
