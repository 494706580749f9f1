"""The decision boundary: what a model predicts over the plane of 2-D data.

For classification on two input features, the predicted class (and how sure the
model is, in percent) on a grid covering the data; for regression on one feature, the fitted
curve. Both are laid out in the data's own units: the grid is built there and
normalised exactly as a run normalises its samples before the model sees it.
The data points go with the first record only (they do not change during a run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from runtime.recipes.losses import as_targets, class_probabilities, predicted_classes

if TYPE_CHECKING:
    from runtime.data import Preprocessing
    from runtime.inspect.model import InspectedModel
    from runtime.inspect.probes import ProbeContext
    from runtime.run_data import RunData

GRID = 64  # cells a side: 4,096 predictions, a small record
CURVE = 160  # points along a fitted curve
MARGIN = 0.1  # of the data's span, on every side
MAX_POINTS = 400  # per split: enough to see the classes, small to send


@dataclass
class BoundaryProbe:
    """Redraws the boundary of ``network`` at each epoch's end."""

    network: nn.Module
    data: RunData
    loss: str
    mode: str  # "plane" (2-D classification) or "curve" (1-D regression)
    kind: str = "boundary"
    points_sent: bool = False

    def __post_init__(self) -> None:
        self.frame = Frame.of(self.data)  # the data does not move during a run

    def record(self) -> dict[str, Any] | None:
        record = boundary_record(self.network, self.data, self.loss, self.mode,
                                 with_points=not self.points_sent, frame=self.frame)
        self.points_sent = True
        return record


@dataclass
class Frame:
    """The samples in the data's own units, and the box the view covers."""

    raw: dict[str, tuple[np.ndarray, np.ndarray | None]]
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def of(cls, data: RunData) -> Frame:
        raw = _raw_splits(data)
        every = np.concatenate([x for x, _ in raw.values()])
        lo, hi = _padded(every.min(axis=0), every.max(axis=0))
        return cls(raw, lo, hi)


def boundary_mode(task: str, data: RunData) -> str | None:
    """"plane", "curve", or None when the data is not 2-D (or 1-D for regression)."""
    pre = data.prepared.preprocessing
    if pre.sample_shape == (2,) and task == "classification":
        return "plane"
    if pre.sample_shape == (1,) and task == "regression" and data.train_y is not None \
            and data.train_y[0].numel() == 1:
        return "curve"
    return None


def probe(context: ProbeContext) -> BoundaryProbe | None:
    """The epoch probe, for 2-D classification and 1-D regression data."""
    from runtime.run_data import data_network

    mode = boundary_mode(context.training.task, context.data)
    if mode is None:
        return None
    network = context.networks[data_network(context.doc, context.training)]
    return BoundaryProbe(network, context.data, context.training.loss.name, mode)


def boundary_of(model: InspectedModel) -> dict[str, Any] | None:
    """The boundary of a model at rest (fresh or trained weights), points included."""
    mode = boundary_mode(model.training.task, model.data)
    if mode is None:
        return None
    return boundary_record(model.main, model.data, model.training.loss.name, mode,
                           with_points=True)


def boundary_record(network: nn.Module, data: RunData, loss: str, mode: str,
                    with_points: bool, frame: Frame | None = None) -> dict[str, Any]:
    """The record of one boundary (see the module's docstring)."""
    frame = frame or Frame.of(data)
    raw, lo, hi = frame.raw, frame.lo, frame.hi
    pre = data.prepared.preprocessing
    if mode == "plane":
        record = _plane(network, pre, loss, lo, hi)
        record["classes"] = list(pre.class_names or
                                 [str(i) for i in range(pre.num_classes or 2)])
    else:
        record = _curve(network, pre, loss, float(lo[0]), float(hi[0]))
    record["mode"] = mode
    if with_points:
        record["points"] = {name: _points(x, y, mode) for name, (x, y) in raw.items()
                            if name in ("train", "test")}
    return record


def grid_axes(lo: np.ndarray, hi: np.ndarray, size: int = GRID) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres along x and y, in the data's units."""
    return (np.linspace(lo[0], hi[0], size, dtype=np.float32),
            np.linspace(lo[1], hi[1], size, dtype=np.float32))


def _plane(network: nn.Module, pre: Preprocessing, loss: str, lo: np.ndarray,
           hi: np.ndarray) -> dict[str, Any]:
    xs, ys = grid_axes(lo, hi)
    gx, gy = np.meshgrid(xs, ys)  # row i: y = ys[i]; column j: x = xs[j]
    grid = np.stack([gx.reshape(-1), gy.reshape(-1)], axis=1)
    out = _predict(network, pre, grid)
    classes = predicted_classes(out, loss)
    sure = class_probabilities(out).max(dim=-1).values
    # whole percents: plenty for shading, and short on the wire
    percent = torch.round(sure * 100).to(torch.int64)
    return {"x_range": [float(lo[0]), float(hi[0])], "y_range": [float(lo[1]), float(hi[1])],
            "size": GRID, "predicted": classes.tolist(), "confidence": percent.tolist()}


def _curve(network: nn.Module, pre: Preprocessing, loss: str, lo: float,
           hi: float) -> dict[str, Any]:
    xs = np.linspace(lo, hi, CURVE, dtype=np.float32)
    out = as_targets(_predict(network, pre, xs[:, None]), loss)
    return {"x_range": [lo, hi], "x": xs.tolist(), "y": out.reshape(len(xs)).tolist()}


@torch.no_grad()
def _predict(network: nn.Module, pre: Preprocessing, raw: np.ndarray) -> torch.Tensor:
    """The network's outputs for raw samples, normalised as a run's samples are."""
    device = next((p.device for p in network.parameters()), torch.device("cpu"))
    x = torch.as_tensor(pre.apply(raw), dtype=torch.float32, device=device)
    was_training = network.training
    network.eval()
    try:
        return network(x).float().cpu()
    finally:
        network.train(was_training)


def _raw_splits(data: RunData) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Each split's samples in the data's own units, with their targets."""
    prepared = data.prepared
    dataset = prepared.dataset
    found = {}
    for name in ("train", "val", "test"):
        index = prepared.split(name).indices
        if len(index):
            x = dataset.x[index].reshape(len(index), -1).astype(np.float32)
            found[name] = (x, dataset.y[index] if dataset.y is not None else None)
    return found


def _padded(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    span = np.maximum(hi - lo, 1e-6)
    return lo - MARGIN * span, hi + MARGIN * span


def _points(x: np.ndarray, y: np.ndarray | None, mode: str) -> dict[str, list[Any]]:
    """At most ``MAX_POINTS`` samples, spread evenly over the split."""
    keep = np.linspace(0, len(x) - 1, min(len(x), MAX_POINTS)).round().astype(int)
    x = x[keep]
    target = y[keep].reshape(len(keep), -1)[:, 0] if y is not None else np.zeros(len(keep))
    if mode == "plane":
        return {"x": x[:, 0].tolist(), "y": x[:, 1].tolist(), "label": target.tolist()}
    return {"x": x[:, 0].tolist(), "y": target.tolist()}
