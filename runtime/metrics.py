"""Evaluation metrics on whole splits, as plain JSON-able reports (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def classification_report(y_true: np.ndarray, scores: np.ndarray,
                          class_names: Sequence[str] | None = None,
                          top_k: Sequence[int] = (1, 3, 5)) -> dict[str, Any]:
    """Accuracy, top-k, per-class precision/recall/F1 with macro averages, confusion matrix.

    ``scores`` are N×C (or N×T×C with labels N×T: every time step counts as a sample).
    A single score column is read as a binary logit.
    """
    if scores.ndim == 3:
        scores = scores.reshape(-1, scores.shape[-1])
        y_true = y_true.reshape(-1)
    if scores.shape[1] == 1:
        scores = np.concatenate([-scores, scores], axis=1)
    n_classes = scores.shape[1]
    y_true = y_true.astype(np.int64)
    pred = scores.argmax(axis=1)
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (y_true, pred), 1)
    tp = np.diag(confusion).astype(float)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    names = list(class_names) if class_names else [str(i) for i in range(n_classes)]
    ranked = np.argsort(-scores, axis=1)
    report: dict[str, Any] = {
        "samples": len(y_true),
        "accuracy": float((pred == y_true).mean()) if len(y_true) else 0.0,
        "per_class": [
            {"class": names[i], "precision": float(precision[i]), "recall": float(recall[i]),
             "f1": float(f1[i]), "support": int(actual[i])}
            for i in range(n_classes)
        ],
        "macro_precision": float(precision.mean()), "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "confusion": confusion.tolist(), "class_names": names,
    }
    for k in top_k:
        if 1 < k < n_classes:
            hit = (ranked[:, :k] == y_true[:, None]).any(axis=1)
            report[f"top{k}_accuracy"] = float(hit.mean())
    return report


def regression_report(y_true: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """MSE, MAE, RMSE and R² (averaged over output columns)."""
    y_true = y_true.reshape(len(y_true), -1).astype(np.float64)
    pred = pred.reshape(len(pred), -1).astype(np.float64)
    err = pred - y_true
    total = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    resid = (err**2).sum(axis=0)
    # a constant column: perfect predictions score 1, anything else 0 (as scikit-learn)
    r2 = np.where(total > 0, 1 - resid / np.where(total > 0, total, 1),
                  np.where(resid == 0, 1.0, 0.0))
    mse = float((err**2).mean())
    return {"samples": len(y_true), "mse": mse, "rmse": mse**0.5,
            "mae": float(np.abs(err).mean()), "r2": float(r2.mean())}


def reconstruction_report(x: np.ndarray, recon: np.ndarray) -> dict[str, Any]:
    """How well an autoencoder reproduces its input (both in model space)."""
    x = x.reshape(len(x), -1).astype(np.float64)
    recon = recon.reshape(len(recon), -1).astype(np.float64)
    per_sample = ((recon - x) ** 2).mean(axis=1)
    return {"samples": len(x), "reconstruction_mse": float(per_sample.mean()),
            "reconstruction_mae": float(np.abs(recon - x).mean()),
            "worst_sample_mse": float(per_sample.max()) if len(x) else 0.0}


def mode_coverage(samples: np.ndarray, modes: np.ndarray, sigma: float,
                  min_share: float = 0.01) -> dict[str, Any]:
    """Which known modes a generator covers: a mode counts when at least ``min_share``
    of the samples lie within 3σ of it. Also the share of samples near any mode."""
    dist = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=2)
    near = dist <= 3 * sigma
    shares = near.mean(axis=0)
    return {"modes": len(modes), "modes_covered": int((shares >= min_share).sum()),
            "high_quality_share": float(near.any(axis=1).mean()),
            "mode_shares": [float(s) for s in shares]}


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors."""
    from scipy import linalg

    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b)
    covmean = np.real(root[0] if isinstance(root, tuple) else root)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean))
