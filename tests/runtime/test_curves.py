"""ROC and precision-recall areas equal scikit-learn's; the evaluate report and the CLI
carry them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from runtime.curves import curves_report, precision_recall_curve, roc_curve


def _scores(n: int, classes: int, seed: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    logits = rng.normal(size=(n, classes)) + 1.5 * np.eye(classes)[y]
    if ties:  # repeated scores: thresholds group samples, as sklearn's do
        logits = np.round(logits, 1)
    p = np.exp(logits)
    return y, p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("ties", [False, True])
def test_binary_areas_equal_sklearns(ties: bool) -> None:
    y, p = _scores(300, 2, 1, ties)
    report = curves_report(y, p, ["a", "b"])
    assert report["roc_auc"] == pytest.approx(roc_auc_score(y, p[:, 1]), abs=1e-12)
    assert report["average_precision"] == pytest.approx(
        average_precision_score(y, p[:, 1]), abs=1e-12)
    assert [c["class"] for c in report["curves"]] == ["b"]


@pytest.mark.parametrize("ties", [False, True])
def test_one_vs_rest_areas_equal_sklearns(ties: bool) -> None:
    y, p = _scores(400, 5, 2, ties)
    report = curves_report(y, p, list("abcde"))
    assert report["roc_auc"] == pytest.approx(
        roc_auc_score(y, p, multi_class="ovr", average="macro"), abs=1e-12)
    onehot = np.eye(5)[y]
    assert report["average_precision"] == pytest.approx(
        average_precision_score(onehot, p, average="macro"), abs=1e-12)
    for k, curve in enumerate(report["curves"]):
        assert curve["auc"] == pytest.approx(roc_auc_score(onehot[:, k], p[:, k]), abs=1e-12)
        assert curve["average_precision"] == pytest.approx(
            average_precision_score(onehot[:, k], p[:, k]), abs=1e-12)
        assert curve["fpr"][0] == curve["tpr"][0] == 0 and curve["fpr"][-1] == 1
        assert len(curve["fpr"]) <= 200


def test_curves_are_sklearns_points() -> None:
    from sklearn.metrics import precision_recall_curve as sk_pr
    from sklearn.metrics import roc_curve as sk_roc

    y, p = _scores(120, 2, 3, True)
    fpr, tpr, _ = roc_curve(y, p[:, 1])
    sk_fpr, sk_tpr, _ = sk_roc(y, p[:, 1], drop_intermediate=False)
    assert np.allclose(fpr, sk_fpr) and np.allclose(tpr, sk_tpr)
    recall, precision, _ = precision_recall_curve(y, p[:, 1])
    sk_precision, sk_recall, _ = sk_pr(y, p[:, 1])
    assert np.allclose(recall, sk_recall[::-1]) and np.allclose(precision, sk_precision[::-1])


def test_a_class_absent_from_the_split_has_no_area_and_is_left_out_of_the_mean() -> None:
    y, p = _scores(200, 3, 4, False)
    y[y == 2] = 0
    report = curves_report(y, p, ["a", "b", "c"])
    assert report["curves"][2]["auc"] is None and report["curves"][2]["positives"] == 0
    assert report["roc_auc"] == pytest.approx(np.mean(
        [roc_auc_score(y == k, p[:, k]) for k in (0, 1)]), abs=1e-12)


def test_evaluate_reports_and_the_cli_prints_the_areas(tmp_path: Path, capsys) -> None:
    from graph.fileformat import save_graph
    from runtime.cli import main
    from runtime.evaluate import evaluate_samples
    from runtime.trainer import RunOptions, Trainer
    from tests.runtime.helpers import moons_mlp

    doc = moons_mlp()
    Trainer(doc, RunOptions(epochs=2, out_dir=tmp_path)).run()
    result = evaluate_samples(doc, tmp_path / "model.safetensors")
    report = result.report
    assert result.truth is not None and result.predicted is not None
    assert report["roc_auc"] is not None and 0.5 < report["roc_auc"] <= 1
    assert report["per_class"][1]["auc"] == report["roc_auc"]
    wrong = result.misclassified()
    assert len(wrong) == report["samples"] - round(report["accuracy"] * report["samples"])
    assert sum(len(result.members(i, j)) for i in (0, 1) for j in (0, 1)) == report["samples"]
    assert list(result.members(1, 0)) == [k for k in range(len(result.truth))
                                          if result.truth[k] == 1 and result.predicted[k] == 0]
    save_graph(doc, tmp_path / "moons.loom")
    assert main(["evaluate", str(tmp_path / "moons.loom"), "--weights",
                 str(tmp_path / "model.safetensors")]) == 0
    out = capsys.readouterr().out
    assert f"roc_auc                    {report['roc_auc']:.4f}" in out
    assert "roc auc" in out and "avg prec" in out
