"""Data for training: built-in, generated and on-disk sets, splits and normalisation.

Importing this package registers every data set and stays free of torch; the
torch-backed helpers (:class:`Augmenter`, :class:`BatchIterator`) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Imported for their side effect: each module registers its data sets.
from runtime.data import builtin, disk, generated, images, sequences, text  # noqa: F401
from runtime.data.dataset import DataError, Dataset, TargetKind, encode_classes
from runtime.data.pipeline import PreparedData, Split, fit_to_task, prepare, prepare_dataset
from runtime.data.preprocess import NORMALIZATIONS, Preprocessing, fit_preprocessing
from runtime.data.registry import (
    DatasetInfo,
    OptionSpec,
    get_dataset_info,
    list_datasets,
    load_dataset,
)
from runtime.data.sequences import repeat_last_mse
from runtime.data.split import SplitIndices, split_indices

if TYPE_CHECKING:
    from runtime.data.augment import Augmenter
    from runtime.data.batches import BatchIterator

__all__ = [
    "NORMALIZATIONS", "Augmenter", "BatchIterator", "DataError", "Dataset", "DatasetInfo",
    "OptionSpec", "PreparedData", "Preprocessing", "Split", "SplitIndices", "TargetKind",
    "encode_classes", "fit_preprocessing", "fit_to_task", "get_dataset_info", "list_datasets",
    "load_dataset", "prepare", "prepare_dataset", "repeat_last_mse", "split_indices",
]

_LAZY = {"Augmenter": "runtime.data.augment", "BatchIterator": "runtime.data.batches"}


def __getattr__(name: str) -> Any:
    # torch takes seconds to import; the GUI lists data sets long before it trains.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
