"""Keeping a step walked outside a run: its weights become a run folder of their own.

A kept step is written like a run's weights (``model.safetensors`` with the
preprocessing, beside ``graph.loom``), in a folder claimed with
``runtime.runs.claim_run_folder``, so Evaluate, Export, Try it and the next step
find it the way they find any run. Undoing the keep removes that folder again.
"""

from __future__ import annotations

from pathlib import Path

import torch

from runtime.checkpoint import save_weights, write_run_files
from runtime.inspect.model import InspectedModel
from runtime.runs import WEIGHTS, claim_run_folder, delete_run

States = dict[str, dict[str, torch.Tensor]]


def states_of(model: InspectedModel) -> States:
    """A copy of every network's state (to return to after a keep)."""
    return {name: {k: v.detach().clone() for k, v in m.state_dict().items()}
            for name, m in model.networks.items()}


def keep_step(model: InspectedModel, states: States, graph_file: Path | None) -> Path:
    """Load ``states`` into ``model``'s networks and write them as a new run folder of
    ``graph_file`` (a temporary folder for a document never saved); the folder."""
    load_states(model, states)
    folder = claim_run_folder(graph_file)
    write_run_files(folder, model.doc, model.data, [])
    save_weights(folder / WEIGHTS, dict(model.networks), model.data)
    return folder


def undo_keep(model: InspectedModel, previous: States, folder: Path,
              graph_file: Path | None) -> None:
    """Return ``model`` to ``previous`` and remove the kept step's run folder."""
    load_states(model, previous)
    delete_run(folder, graph_file, extra=[folder])


def load_states(model: InspectedModel, states: States) -> None:
    for name, module in model.networks.items():
        if name in states:
            module.load_state_dict(states[name])
