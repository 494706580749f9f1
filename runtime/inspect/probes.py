"""Epoch probes: views of the model the trainer computes at the end of an epoch.

Each insight module offers a factory ``probe(context) -> EpochProbe | None`` (None
when the view does not apply to this run: no decision boundary for images, no
attention map without attention). The trainer builds the applicable probes once
and, within its probe-time budget, emits each probe's record as an event
``{"type": probe.kind, "epoch": n, **record}``. Records must stay small (a few
thousand numbers): they cross a process boundary several times a minute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch
    from torch import nn

    from graph.document import Document
    from graph.training import TrainingSpec
    from runtime.run_data import RunData


@dataclass
class ProbeContext:
    """What a probe may read: the document, the live networks and the run's data."""

    doc: Document
    networks: dict[str, nn.Module]
    data: RunData
    training: TrainingSpec
    probe_x: torch.Tensor  # the run's fixed probe batch (validation samples first)


class EpochProbe(Protocol):
    kind: str  # the event type, e.g. "boundary"

    def record(self) -> dict[str, Any] | None:
        """This epoch's record (None: nothing to show this time)."""


ProbeFactory = Callable[[ProbeContext], "EpochProbe | None"]


def factories() -> list[ProbeFactory]:
    """Every insight that can run during training. Imported here, not at module level:
    the modules bring torch and numerical code the trainer only needs when it runs."""
    found: list[ProbeFactory] = []
    from runtime.inspect import boundary

    found.append(boundary.probe)
    from runtime.inspect import attention, features

    found += [features.probe, attention.probe]
    from runtime.inspect import embedding

    found.append(embedding.probe)
    return found


def epoch_probes(context: ProbeContext) -> list[EpochProbe]:
    """The probes that apply to this run. A probe that cannot be set up is left out: the
    views only look at the run, and whatever broke it (token ids beyond the vocabulary, a
    shape the data does not fit) fails the first training step, where the trainer names
    the layer."""
    probes: list[EpochProbe] = []
    for factory in factories():
        try:
            made = factory(context)
        except Exception:  # see above: the training step reports it properly
            continue
        if made is not None:
            probes.append(made)
    return probes
