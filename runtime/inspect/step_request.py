"""A paused run answers the window: one step walked on its live networks.

The window sends ``step_request(index, batch)`` through ``Runner.request``; the
training process, waiting in its pause, hands it to ``answer`` (set on its
``RunControl``), which walks the step on copies of the live networks with the run's
own optimizer state and answers with a ``step_walk`` event. The run's weights are
never changed by it: its copies' states stay in the training process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.inspect.step import StepError, walk_step

if TYPE_CHECKING:
    from runtime.trainer import Trainer

STEP_REQUEST = "step_request"
STEP_WALK = "step_walk"


def step_request(index: int, batch: int, ident: int) -> dict[str, Any]:
    """The request the window sends (``ident`` pairs it with its answer)."""
    return {"type": STEP_REQUEST, "index": index, "batch": batch, "id": ident}


def answer(trainer: Trainer, request: object) -> dict[str, Any]:
    """The ``step_walk`` event for ``request``: ``record`` on success, else ``error``
    (a message for the user); never raises, so a request cannot end the run."""
    if not isinstance(request, dict) or request.get("type") != STEP_REQUEST:
        return {"type": STEP_WALK, "id": None, "error": "the run does not know this request"}
    reply: dict[str, Any] = {"type": STEP_WALK, "id": request.get("id")}
    try:
        result = walk_step(
            trainer.doc, trainer.training, trainer.networks, trainer.data,
            index=int(request.get("index", 0)), batch=int(request.get("batch", 1)),
            optimizer_states={n: o.state_dict() for n, o in trainer.optimizers.items()})
    except StepError as exc:
        reply["error"] = str(exc)
    except Exception as exc:  # the run goes on whatever the walk met
        reply["error"] = f"the step could not be walked: {type(exc).__name__}: {exc}"
    else:
        reply["record"] = result.record
    return reply
