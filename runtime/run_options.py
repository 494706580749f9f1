"""What one run is asked to do (``RunOptions``) and what it did (``RunResult``).

Apart from the trainer so that the runner, the window, evaluation and the data code
can name a run's settings without importing the training loop (or torch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph.document import Document
from graph.training import TrainingSpec
from runtime.events import RunStatus

if TYPE_CHECKING:
    from torch import nn


@dataclass
class RunOptions:
    """Overrides and settings of one run (the document's training section holds the rest)."""

    epochs: int | None = None
    seed: int | None = None
    device: str | None = None
    out_dir: str | Path | None = None
    resume: str | Path | None = None
    init_weights: str | Path | None = None  # start from these (layers they fit; not on resume)
    threads: int | None = None
    step_interval: float = 0.25  # seconds between step events
    activations: bool = True  # probe every node's output at each epoch's end
    max_steps_per_epoch: int | None = None  # tests: shorten epochs
    rank: int = 0
    world_size: int = 1
    base_dir: Path | None = None  # anchors relative data paths (the document's folder)
    checkpoint_share: float | None = 0.02  # of the run's time at most; None: every epoch


@dataclass
class RunResult:
    status: RunStatus
    epochs_done: int
    metrics: dict[str, float]  # final: train_*, val_*, test_*
    history: list[dict[str, Any]] = field(default_factory=list)
    out_dir: Path | None = None
    networks: dict[str, nn.Module] = field(default_factory=dict)


def effective_training(doc: Document, options: RunOptions) -> TrainingSpec:
    """The document's training section with the run's overrides applied."""
    training = doc.training
    updates: dict[str, Any] = {}
    if options.epochs is not None:
        updates["epochs"] = options.epochs
    if options.seed is not None:
        updates["seed"] = options.seed
    if options.device is not None:
        updates["device"] = options.device
    return training.model_copy(update=updates) if updates else training
