"""An autoencoder's code: where it is, and how much it says about the classes.

The bottleneck is the narrowest layer between input and output. A 5-nearest-
neighbour classifier fitted on the training codes and scored on the evaluated
split tells how well the code separates the classes, and PCA to the same size
gives the number to beat.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from runtime.telemetry import capture_outputs

NEIGHBOURS = 5


def bottleneck(module: nn.Module, x: torch.Tensor) -> tuple[str, str, int] | None:
    """(attribute, node title, width) of the narrowest layer, judged on one sample (in eval
    mode: a BatchNorm in training mode refuses a batch of one, and dropout would not
    change a shape anyway)."""
    ids: dict[str, str] = dict(getattr(module, "node_ids", {}))
    titles: dict[str, str] = dict(getattr(module, "node_titles", {}))
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            outs = capture_outputs(module, ids, lambda: module(x[:1]))
    finally:
        module.train(was_training)
    widths = {node_id: math.prod(t.shape[1:]) for node_id, t in outs.items()}
    if not widths:
        return None
    node_id = min(widths, key=lambda n: (widths[n], list(widths).index(n)))
    attr = next(a for a, n in ids.items() if n == node_id)
    return attr, titles.get(attr, node_id), widths[node_id]


def codes(module: nn.Module, attr: str, x: torch.Tensor) -> np.ndarray:
    node_id = dict(getattr(module, "node_ids", {}))[attr]
    with torch.no_grad():
        outs = capture_outputs(module, {attr: node_id}, lambda: module(x))
    return outs[node_id].reshape(len(x), -1).float().numpy()


def knn_accuracy(train: np.ndarray, train_y: np.ndarray, test: np.ndarray,
                 test_y: np.ndarray) -> float:
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=NEIGHBOURS).fit(train, train_y)
    return float(knn.score(test, test_y))


def code_report(module: nn.Module, train_x: torch.Tensor, train_y: torch.Tensor | None,
                x: torch.Tensor, y: torch.Tensor | None) -> dict[str, Any]:
    """The code layer, and (with labels) kNN accuracy on codes vs. on PCA projections."""
    found = bottleneck(module, x)
    if found is None:
        return {}
    attr, title, width = found
    report: dict[str, Any] = {"code_layer": title, "code_size": width}
    if train_y is None or y is None or train_y.dim() != 1:
        return report
    from sklearn.decomposition import PCA

    train_codes, test_codes = codes(module, attr, train_x), codes(module, attr, x)
    report["code_knn_accuracy"] = knn_accuracy(train_codes, train_y.numpy(), test_codes,
                                               y.numpy())
    flat_train = train_x.reshape(len(train_x), -1).numpy()
    pca = PCA(n_components=min(width, flat_train.shape[1])).fit(flat_train)
    report["pca_knn_accuracy"] = knn_accuracy(
        pca.transform(flat_train), train_y.numpy(),
        pca.transform(x.reshape(len(x), -1).numpy()), y.numpy())
    return report
