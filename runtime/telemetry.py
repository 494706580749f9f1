"""Telemetry: compact, JSON-able events about a run, and what they cost.

Events are plain dicts (``{"type": "step", ...}``, typed in ``runtime.events``) so
they cross process boundaries, land in JSON-lines logs and reach the GUI unchanged.
Reading a loss forces the GPU to synchronise, so step events are throttled by wall
time.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from runtime.events import NodeSummary

HIST_BINS = 24
TRAIL_POINTS = 16
STAT_SAMPLES = 16


class Throttle:
    """True at most every ``interval`` seconds (and on the first call)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last = -math.inf

    def ready(self) -> bool:
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            return True
        return False


class LossTrail:
    """The losses of every step between two step events, so the step curve is as dense as
    the steps, not as the (wall-time throttled) events.

    Kept as tensors until ``take`` (one host sync per event); at most ``TRAIL_POINTS``
    points per event, each the mean of a run of consecutive steps.
    """

    def __init__(self) -> None:
        self.at: list[float] = []
        self.losses: list[dict[str, torch.Tensor]] = []

    def add(self, at: float, losses: dict[str, torch.Tensor]) -> None:
        self.at.append(at)
        self.losses.append(losses)

    def take(self) -> dict[str, list[float]]:
        """``{"at": [...], "loss": [...], ...}`` since the last call (empty if no step)."""
        count = len(self.at)
        if not count:
            return {}
        edges = [round(i * count / min(count, TRAIL_POINTS))
                 for i in range(min(count, TRAIL_POINTS) + 1)]
        runs = list(itertools.pairwise(edges))
        trail = {"at": [sum(self.at[a:b]) / (b - a) for a, b in runs]}
        for key in self.losses[0]:
            values = torch.stack([step[key] for step in self.losses]).float().cpu().tolist()
            trail[key] = [sum(values[a:b]) / (b - a) for a, b in runs]
        self.at, self.losses = [], []
        return trail


class Budget:
    """Allows an optional task while the time spent on it stays under ``share`` of
    the time since the budget was created."""

    def __init__(self, share: float) -> None:
        self.share = share
        self.start = time.perf_counter()
        self.spent = 0.0

    def allows(self) -> bool:
        return self.spent <= self.share * (time.perf_counter() - self.start)

    @contextmanager
    def spending(self) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.spent += time.perf_counter() - began


def summarize(t: torch.Tensor, feature_maps: int = 0) -> NodeSummary:
    """Mean, std, histogram and dead-unit fraction of one node's output on the probe.

    Distribution statistics use the first ``STAT_SAMPLES`` probe samples, which is
    plenty for a histogram and keeps probes cheap; dead units are judged on all.
    """
    x = t.detach().float()
    values = x[:STAT_SAMPLES].reshape(-1)
    nonfinite = not bool(torch.isfinite(values).all())
    if nonfinite:
        values = values[torch.isfinite(values)]
    if values.numel() == 0:
        return NodeSummary(mean=None, std=None, hist=[], range=[0.0, 0.0], dead=0.0,
                           nonfinite=True)
    lo, hi = values.aminmax()
    lo_f, hi_f = float(lo), float(hi)
    hist = torch.histc(values, bins=HIST_BINS, min=lo_f, max=hi_f if hi_f > lo_f else lo_f + 1e-6)
    per_unit = x.reshape(x.shape[0], -1) if x.dim() > 1 else x.reshape(-1, 1)
    std, mean = torch.std_mean(values) if values.numel() > 1 else (torch.zeros(()), values.mean())
    out = NodeSummary(mean=float(mean), std=float(std), hist=hist.int().tolist(),
                      range=[lo_f, hi_f], dead=float((per_unit <= 0).all(dim=0).float().mean()),
                      nonfinite=nonfinite)
    if feature_maps and x.dim() == 4:  # N×C×H×W: a few channels of the first sample
        out["maps"] = (torch.round(x[0, :feature_maps] * 1e4) / 1e4).tolist()
    return out


def capture_outputs(module: nn.Module, names: dict[str, str],
                    run: Callable[[], Any]) -> dict[str, torch.Tensor]:
    """Run ``run()`` with hooks on the submodules named in ``names`` (attr → node id);
    returns each node's output, keyed by node id."""
    outputs: dict[str, torch.Tensor] = {}
    handles = []
    for attr, node_id in names.items():
        sub = module.get_submodule(attr)

        def hook(_m: nn.Module, _i: Any, out: Any, node_id: str = node_id) -> None:
            if isinstance(out, torch.Tensor):
                outputs[node_id] = out.detach()

        handles.append(sub.register_forward_hook(hook))
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return outputs


def grad_norms(module: nn.Module, names: dict[str, str]) -> dict[str, float]:
    """Gradient norm per node (after a backward pass), keyed by node id."""
    norms: dict[str, float] = {}
    for attr, node_id in names.items():
        grads = [p.grad for p in module.get_submodule(attr).parameters() if p.grad is not None]
        if grads:
            norms[node_id] = float(torch.linalg.vector_norm(
                torch.stack([torch.linalg.vector_norm(g.float()) for g in grads])))
    return norms
