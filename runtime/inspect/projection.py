"""Dots in 2-D for an embedding: the projections, k-means and the adjusted Rand index.

Plain NumPy (scikit-learn only for t-SNE, imported when used), so the window can
group and score dots without torch, and a run can project at every epoch without
importing scikit-learn. The torch side, a node's outputs, is ``runtime.inspect.embedding``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

KMEANS_RESTARTS = 4
KMEANS_ROUNDS = 100

# One BLAS/OpenMP thread for these small problems. They run beside a training process or
# the window, and spinning thread pools on busy cores made them 5 to 30 times slower
# (measured at load 15 on 2 cores: t-SNE of 270×256 in 6 s with one thread, 80 s with
# two, 152 s with the default; the SVD of 1000×576 in 0.5 s against 3.1 s).


@dataclass
class Embedding:
    """One node's samples as 2-D points, with their classes when the data has them."""

    network: str
    node_id: str
    title: str  # "Linear 'code'"
    method: str  # "pca", "tsne", or "values" (the node's own one or two values)
    points: np.ndarray  # (N, 2)
    labels: np.ndarray | None  # (N,) class indices
    class_names: tuple[str, ...] | None
    width: int  # values per sample at the node
    split: str  # where the samples come from
    explained: tuple[float, float] | None = None  # PCA: share of the variance per axis

    def record(self) -> dict[str, Any]:
        """A small JSON-friendly record (what a run streams)."""
        return {
            "network": self.network, "node": self.node_id, "title": self.title,
            "method": self.method, "width": self.width, "split": self.split,
            "points": np.round(self.points.astype(np.float64), 5).tolist(),
            "labels": self.labels.tolist() if self.labels is not None else None,
            "class_names": list(self.class_names) if self.class_names else None,
            "explained": list(self.explained) if self.explained is not None else None,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Embedding:
        labels = record.get("labels")
        names = record.get("class_names")
        explained = record.get("explained")
        return cls(record["network"], record["node"], record["title"], record["method"],
                   np.asarray(record["points"], dtype=np.float64).reshape(-1, 2),
                   np.asarray(labels, dtype=np.int64) if labels is not None else None,
                   tuple(names) if names else None, int(record["width"]), record["split"],
                   (float(explained[0]), float(explained[1])) if explained else None)


def pca_2d(values: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """The samples on their two principal axes, and each axis's share of the variance.

    Signs follow one rule (each axis's largest loading is positive), so the picture does
    not flip between epochs for no reason. One value per sample gives a second axis of 0.
    """
    x = np.asarray(values, dtype=np.float64)
    centred = x - x.mean(axis=0)
    if len(x) < 2:
        return np.zeros((len(x), 2)), (0.0, 0.0)
    with threadpool_limits(limits=1):  # one thread: see above
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
    biggest = np.argmax(np.abs(vt), axis=1)
    vt = vt * np.sign(vt[np.arange(len(vt)), biggest])[:, None]
    variance = s ** 2
    total = float(variance.sum())
    points = np.zeros((len(x), 2))
    shares = [0.0, 0.0]
    for axis in range(min(2, len(vt))):
        points[:, axis] = centred @ vt[axis]
        shares[axis] = float(variance[axis] / total) if total > 0 else 0.0
    return points, (shares[0], shares[1])


def tsne_2d(values: np.ndarray, seed: int = 0) -> np.ndarray:
    """t-SNE (scikit-learn) of the samples: neighbours stay neighbours, distances between
    far groups mean little. Seconds for a thousand samples: never on the GUI thread."""
    from sklearn.manifold import TSNE

    x = np.asarray(values, dtype=np.float64)
    if len(x) < 3:
        return np.zeros((len(x), 2))
    perplexity = min(30.0, (len(x) - 1) / 3)
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    with threadpool_limits(limits=1):
        return np.asarray(tsne.fit_transform(x), dtype=np.float64)


def kmeans(points: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Cluster index per point: Lloyd's k-means from k-means++ starts, the best of a few."""
    x = np.asarray(points, dtype=np.float64)
    k = max(1, min(k, len(x)))
    rng = np.random.default_rng(seed)
    best: tuple[float, np.ndarray] | None = None
    for _ in range(KMEANS_RESTARTS):
        centres = _kmeans_plus_plus(x, k, rng)
        for _ in range(KMEANS_ROUNDS):
            assigned = _nearest(x, centres)
            # each centre moves to its points' mean (one pass, not a loop over centres:
            # the window groups each epoch's embedding on its GUI thread)
            counts = np.bincount(assigned, minlength=k)
            sums = np.zeros_like(centres)
            np.add.at(sums, assigned, x)
            moved = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None],
                             centres)
            if np.allclose(moved, centres):
                break
            centres = moved
        assigned = _nearest(x, centres)
        inertia = float(((x - centres[assigned]) ** 2).sum())
        if best is None or inertia < best[0]:
            best = (inertia, assigned)
    assert best is not None
    return best[1]


def _nearest(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    distances = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return np.asarray(distances.argmin(axis=1), dtype=np.int64)


def _kmeans_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        gaps = ((x[:, None, :] - np.array(centres)[None]) ** 2).sum(axis=2).min(axis=1)
        total = gaps.sum()
        pick = rng.choice(len(x), p=gaps / total) if total > 0 else rng.integers(len(x))
        centres.append(x[pick])
    return np.array(centres)


def adjusted_rand_index(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Agreement of two groupings of the same samples, corrected for chance (Hubert and
    Arabie): 1 for the same grouping, about 0 for unrelated ones."""
    a = np.unique(np.asarray(labels), return_inverse=True)[1]
    b = np.unique(np.asarray(clusters), return_inverse=True)[1]
    n = len(a)
    if n < 2:
        return 1.0
    table = np.zeros((a.max() + 1, b.max() + 1), dtype=np.int64)
    np.add.at(table, (a, b), 1)

    def pairs(counts: np.ndarray) -> float:
        return float((counts * (counts - 1) // 2).sum())

    together = pairs(table)
    rows, cols = pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = rows * cols / (n * (n - 1) / 2)
    best = (rows + cols) / 2
    if best == expected:  # both groupings trivial (one group each, or all singletons)
        return 1.0
    return (together - expected) / (best - expected)
