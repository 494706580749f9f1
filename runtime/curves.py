"""ROC and precision–recall curves with their areas, one-vs-rest per class (numpy only).

The areas follow scikit-learn's definitions exactly (``roc_auc_score`` by the
trapezoidal rule over every distinct threshold; ``average_precision_score`` as the
step sum ``Σ (Rₙ − Rₙ₋₁) Pₙ``), so the tests compare against it. The curves kept
in a report are thinned to at most ``CURVE_POINTS`` points: they are for drawing,
the areas are computed from every threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

CURVE_POINTS = 200


def _counts(truth: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives when every sample scoring at least each distinct
    threshold (highest first) is called positive."""
    order = np.argsort(-score, kind="mergesort")
    score, truth = score[order], truth[order]
    last_of_threshold = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tps = np.cumsum(truth)[last_of_threshold].astype(np.float64)
    fps = (last_of_threshold + 1) - tps
    return tps, fps


def roc_curve(truth: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """False and true positive rates from (0, 0) to (1, 1), and the area under them.

    ``truth`` holds 0/1; the area is NaN when either class is absent (undefined)."""
    truth = np.asarray(truth, dtype=np.int64)
    positives, negatives = int(truth.sum()), int(len(truth) - truth.sum())
    if positives == 0 or negatives == 0:
        return np.zeros(0), np.zeros(0), float("nan")
    tps, fps = _counts(truth, np.asarray(score, dtype=np.float64))
    tpr, fpr = np.r_[0.0, tps / positives], np.r_[0.0, fps / negatives]
    return fpr, tpr, float(np.trapezoid(tpr, fpr))


def precision_recall_curve(truth: np.ndarray, score: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray, float]:
    """Recall and precision, from the strictest threshold to calling everything positive,
    and the average precision; NaN when the class has no sample."""
    truth = np.asarray(truth, dtype=np.int64)
    positives = int(truth.sum())
    if positives == 0:
        return np.zeros(0), np.zeros(0), float("nan")
    tps, fps = _counts(truth, np.asarray(score, dtype=np.float64))
    precision = tps / (tps + fps)
    recall = tps / positives
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return np.r_[0.0, recall], np.r_[1.0, precision], ap


def _thin(*columns: np.ndarray) -> list[list[float]]:
    """At most CURVE_POINTS points along the curve, its two ends always kept."""
    n = len(columns[0])
    keep = np.unique(np.linspace(0, n - 1, min(n, CURVE_POINTS)).round().astype(int)) \
        if n else np.zeros(0, dtype=int)
    return [[round(float(v), 6) for v in c[keep]] for c in columns]


def _mean(values: list[float]) -> float | None:
    defined = [v for v in values if not np.isnan(v)]
    return float(np.mean(defined)) if defined else None


def curves_report(y_true: np.ndarray, probabilities: np.ndarray,
                  class_names: Sequence[str]) -> dict[str, Any]:
    """ROC and PR curves per class (one-vs-rest; for two classes, the second class only,
    as scikit-learn scores binary problems) and their areas.

    ``probabilities`` is N×C. ``roc_auc`` and ``average_precision`` are the binary
    areas, or the macro means over classes where they are defined; a class with no
    sample in the split (or every sample) has ``None`` for its areas.
    """
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    n_classes = probabilities.shape[1]
    classes = [1] if n_classes == 2 else list(range(n_classes))
    curves, aucs, aps = [], [], []
    for k in classes:
        truth = (y_true == k).astype(np.int64)
        fpr, tpr, auc = roc_curve(truth, probabilities[:, k])
        recall, precision, ap = precision_recall_curve(truth, probabilities[:, k])
        fpr_l, tpr_l = _thin(fpr, tpr)
        recall_l, precision_l = _thin(recall, precision)
        curves.append({"class": class_names[k], "auc": None if np.isnan(auc) else auc,
                       "average_precision": None if np.isnan(ap) else ap,
                       "positives": int(truth.sum()),
                       "fpr": fpr_l, "tpr": tpr_l, "recall": recall_l,
                       "precision": precision_l})
        aucs.append(auc)
        aps.append(ap)
    return {"roc_auc": _mean(aucs), "average_precision": _mean(aps), "curves": curves}
