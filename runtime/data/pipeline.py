"""From a document's data section to normalised train / val / test arrays."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from graph.training import AugmentSpec, DataSpec
from runtime.data.dataset import DataError, Dataset, encode_classes
from runtime.data.preprocess import Preprocessing, check_normalised, fit_preprocessing
from runtime.data.registry import load_dataset
from runtime.data.sequences import repeat_last_mse
from runtime.data.split import split_indices
from runtime.data.text import is_corpus

TASKS = ("classification", "regression", "autoencoder", "gan", "language_model")
SPLITS = ("train", "val", "test")


@dataclass
class Split:
    """One split: normalised inputs, targets, and the source rows they came from."""

    x: np.ndarray
    y: np.ndarray | None
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class PreparedData:
    """What the trainer consumes: the splits, the preprocessing record and baselines.

    ``baselines`` holds reference scores per split where the data set defines one
    (``{"test": 0.031}``: the repeat-last-value MSE of sine forecasting).
    """

    dataset: Dataset
    train: Split
    val: Split
    test: Split
    preprocessing: Preprocessing
    baselines: dict[str, float] = field(default_factory=dict)

    def split(self, name: str) -> Split:
        if name not in SPLITS:
            raise DataError(f"unknown split {name!r}; splits: {', '.join(SPLITS)}")
        split: Split = getattr(self, name)
        return split

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return self.preprocessing.sample_shape


def prepare(data_spec: DataSpec, task: str, base_dir: Path | None = None) -> PreparedData:
    """Load ``data_spec.name``, split with the split seed, normalise from the train split.

    ``base_dir`` anchors relative file paths (the folder of the document).
    """
    dataset = load_dataset(data_spec.name, data_spec.options, base_dir)
    return prepare_dataset(dataset, data_spec, task)


def prepare_dataset(dataset: Dataset, data_spec: DataSpec, task: str) -> PreparedData:
    """:func:`prepare` for a data set already in memory (``data_spec.name`` is not used)."""
    dataset = fit_to_task(dataset, task)
    check_augment(data_spec.augment, dataset)
    stratify = data_spec.split.stratify and dataset.target_kind == "class"
    rows = split_indices(len(dataset), data_spec.split, dataset.y if stratify else None)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused just below
        record = fit_preprocessing(dataset, rows.train, data_spec.normalize)
    splits = {}
    for name, index in rows.as_dict().items():
        with np.errstate(over="ignore", invalid="ignore"):
            x = record.apply(dataset.x[index])
        check_normalised(dataset, record.kind, x, index)
        y = dataset.y[index] if dataset.y is not None else None
        splits[name] = Split(np.ascontiguousarray(x, dtype=dataset.x.dtype), y, index)
    baselines = {}
    if dataset.metadata.get("baseline") == "repeat_last" and dataset.y is not None:
        baselines = {name: repeat_last_mse(dataset.x[index], dataset.y[index])
                     for name, index in rows.as_dict().items() if len(index)}
    return PreparedData(dataset, splits["train"], splits["val"], splits["test"], record,
                        baselines)


def fit_to_task(dataset: Dataset, task: str) -> Dataset:
    """Check the targets suit ``task``; whole-number values become classes for classification."""
    if task not in TASKS:
        raise DataError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    if (task == "language_model") != is_corpus(dataset):
        raise DataError(f"the data set '{dataset.name}' is text, for language models; set the "
                        "task to language_model" if is_corpus(dataset) else
                        f"{dataset.name} is not text, so it cannot train a language model; "
                        "choose Tiny Shakespeare or a text file")
    if task == "language_model":
        return dataset
    kind = dataset.target_kind
    if task in ("autoencoder", "gan"):
        return dataset
    if dataset.y is None:
        raise DataError(f"{dataset.name} has no targets, so it cannot be used for {task}")
    if task == "regression":
        if kind != "value":
            raise DataError(f"{dataset.name} has class targets; use classification, or read "
                            "the target as values")
        return dataset
    if kind == "value":
        values = dataset.y
        if values.shape[1] != 1 or not np.all(values == np.round(values)):
            raise DataError(f"{dataset.name} has continuous targets; use regression, or read "
                            "the target as classes")
        codes, names = encode_classes(values[:, 0],
                                      locate=lambda i: f"{dataset.source}, index {i}")
        return dataclasses.replace(dataset, y=codes, target_kind="class", class_names=names,
                                   num_classes=len(names))
    return dataset


def check_augment(spec: AugmentSpec, dataset: Dataset) -> None:
    """Augmentation moves pixels, so it needs images at least as large as the shift."""
    if spec.shift == 0 and not spec.flip:
        return
    if dataset.layout != "image":
        raise DataError(f"augmentation (shift, flip) works on images; {dataset.name} has "
                        f"samples of shape {dataset.sample_shape}")
    height, width = dataset.sample_shape[1:]
    if spec.shift >= min(height, width):
        raise DataError(f"a shift of {spec.shift} pixels would move {height}×{width} images "
                        "out of view; use a smaller shift")
