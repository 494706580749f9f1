"""Class labels → ids, with the labels checked before anything is sized by them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from runtime.data.errors import DataError
from runtime.data.limits import MAX_CLASSES, quote

Locate = Callable[[int], str]


def _default_locate(index: int) -> str:
    return f"label {index}"


def encode_classes(values: np.ndarray, keep_ids: bool = False, locate: Locate | None = None
                   ) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map arbitrary labels (strings or numbers) to ids 0..K-1 in sorted label order.

    With ``keep_ids``, non-negative integer labels stay as they are (classes ``0..max``),
    so a subset that lacks some digit still calls a 7 class 7. At most
    :data:`MAX_CLASSES` classes; ``locate(i)`` names where label ``i`` comes from
    (file, row) in the error when a label is missing, not finite or beyond that limit.
    """
    where = locate or _default_locate
    values = np.asarray(values).reshape(-1)
    _check_kind(values, where)
    if keep_ids and np.issubdtype(values.dtype, np.integer) and values.size and values.min() >= 0:
        top = int(values.max())
        if top >= MAX_CLASSES:
            row = int(np.argmax(values >= MAX_CLASSES))
            raise DataError(f"{where(row)}: class label {values[row]} is "
                            f"too large; class ids must be 0..{MAX_CLASSES - 1} (at most "
                            f"{MAX_CLASSES:,} classes)")
        return values.astype(np.int64), tuple(str(k) for k in range(top + 1))
    labels, first, codes = np.unique(values, return_index=True, return_inverse=True)
    if len(labels) > MAX_CLASSES:
        row = int(np.sort(first)[MAX_CLASSES])
        raise DataError(f"{where(row)}: label {quote(values[row])} is one class too many: at "
                        f"most {MAX_CLASSES:,} classes are allowed, and there are "
                        f"{len(labels):,} different labels. If these are measurements, read "
                        "them as values")
    names = tuple(_label_name(v) for v in labels)
    return codes.astype(np.int64).reshape(-1), names


def _check_kind(values: np.ndarray, where: Locate) -> None:
    """Labels are integers, finite numbers, booleans or text: never objects or NaN."""
    kind = values.dtype.kind
    if kind in "biuUS":
        return
    if kind != "f":
        raise DataError(f"{where(0)}: class labels must be integers or text, got "
                        f"{values.dtype} values")
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(f"{where(row)}: class label {quote(values[row])} is missing or "
                        "infinite; fix or remove that sample")


def _label_name(value: Any) -> str:
    # 3.0 reads better as "3" in a confusion matrix.
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)
