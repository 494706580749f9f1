"""runtime.metrics agrees with scikit-learn's reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from runtime.metrics import classification_report, regression_report


@pytest.mark.parametrize("seed", range(8))
def test_classification_report_equals_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_classes = int(rng.integers(2, 9))
    n = int(rng.integers(1, 200))
    y = rng.integers(0, n_classes, n)
    scores = rng.normal(size=(n, n_classes))  # continuous: no ties in the ranking
    scores[np.arange(n), y] += rng.random(n) * 2  # better than chance, not perfect
    report = classification_report(y, scores)
    pred = scores.argmax(axis=1)
    labels = list(range(n_classes))

    assert report["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
    assert report["confusion"] == sk.confusion_matrix(y, pred, labels=labels).tolist()
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        y, pred, labels=labels, zero_division=0)
    per_class = report["per_class"]
    assert [c["precision"] for c in per_class] == pytest.approx(precision)
    assert [c["recall"] for c in per_class] == pytest.approx(recall)
    assert [c["f1"] for c in per_class] == pytest.approx(f1)
    assert [c["support"] for c in per_class] == support.tolist()
    macro = sk.precision_recall_fscore_support(y, pred, labels=labels, average="macro",
                                               zero_division=0)
    assert (report["macro_precision"], report["macro_recall"], report["macro_f1"]) == \
        pytest.approx(macro[:3])
    for k in (3, 5):
        if k < n_classes:
            assert report[f"top{k}_accuracy"] == pytest.approx(
                sk.top_k_accuracy_score(y, scores, k=k, labels=labels))


def test_a_single_logit_is_a_binary_classifier_as_sklearn_reads_it() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 50)
    logit = rng.normal(size=(50, 1)) + (y[:, None] - 0.5)
    report = classification_report(y, logit)
    pred = (logit[:, 0] > 0).astype(int)
    assert report["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
    assert report["confusion"] == sk.confusion_matrix(y, pred, labels=[0, 1]).tolist()


@pytest.mark.parametrize("seed", range(6))
def test_regression_report_equals_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, outputs = int(rng.integers(2, 100)), int(rng.integers(1, 4))
    y = rng.normal(size=(n, outputs)) * rng.uniform(0.1, 10, outputs)
    pred = y + rng.normal(size=(n, outputs))
    report = regression_report(y, pred)
    assert report["mse"] == pytest.approx(sk.mean_squared_error(y, pred))
    assert report["mae"] == pytest.approx(sk.mean_absolute_error(y, pred))
    assert report["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, pred)))
    assert report["r2"] == pytest.approx(sk.r2_score(y, pred))


def test_r2_of_a_constant_target_follows_sklearn() -> None:
    y = np.array([[2.0, 1.0], [2.0, 3.0], [2.0, 5.0]])
    exact = regression_report(y, y.copy())["r2"]
    assert exact == pytest.approx(sk.r2_score(y, y.copy())) == 1.0
    off = y + np.array([[0.5, 0.1]])
    assert regression_report(y, off)["r2"] == pytest.approx(sk.r2_score(y, off))
