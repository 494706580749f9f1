"""The Step tab's work off the GUI thread (torch) and its small helpers.

``prepare_work``, ``keep_work`` and ``undo_work`` run on a ``BackgroundJob``'s worker:
they load the model at rest, walk the step, and keep or undo a kept step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graph.fileformat import loads
from gui.session import Session


def prepare_work(doc_text: str, weights: str, base_dir: Path | None, model: Any,
             walk: tuple[int, int] | None) -> tuple[Any, list[str], Any]:
    """On a worker: the model at rest (loaded unless given), its sample labels, and the
    step walked on it (when ``walk`` gives index and batch)."""
    from runtime.inspect.model import inspect_model
    from runtime.inspect.step import walk_step
    from runtime.inspect.step_loss import sample_labels

    if model is None:
        model = inspect_model(loads(doc_text), weights or None, base_dir)
    labels = sample_labels(model.data, gan=model.training.task == "gan")
    result = None
    if walk is not None:
        result = walk_step(model.doc, model.training, model.networks, model.data,
                           index=walk[0], batch=walk[1])
    return model, labels, result


def keep_work(model: Any, states: Any, graph_file: Path | None) -> tuple[Path, Any]:
    from runtime.inspect.step_keep import keep_step, states_of

    previous = states_of(model)
    return keep_step(model, states, graph_file), previous


def undo_work(model: Any, previous: Any, folder: Path, graph_file: Path | None) -> None:
    from runtime.inspect.step_keep import undo_keep

    undo_keep(model, previous, folder, graph_file)


def structure(session: Session | None) -> str:
    """The document as a step depends on it: everything but where nodes sit."""
    if session is None:
        return ""
    data = session.doc.to_data()
    data.pop("ui", None)
    for network in data.get("networks", {}).values():
        for node in network.get("nodes", []):
            node.pop("pos", None)
    return json.dumps(data, sort_keys=True, default=str)


def message(error: object, kind: str) -> str:
    from runtime.checkpoint import WeightsError
    from runtime.data import DataError
    from runtime.inspect.step import StepError
    from runtime.run_data import DataMismatch

    if isinstance(error, (StepError, WeightsError, DataError, DataMismatch)):
        return str(error)
    if isinstance(error, OSError) and kind in ("keep", "undo"):
        return f"the weights could not be written: {error}"
    return f"the step could not be computed: {type(error).__name__}: {error}"
