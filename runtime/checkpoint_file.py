"""A ``checkpoint.pt`` as a typed model, and the checks that it fits the run resuming it.

``torch.load(weights_only=True)`` guarantees that loading runs no code; it does not
guarantee that what comes out is a checkpoint. ``CheckpointFile.read`` checks the
structure and types, and ``check_fits`` checks the optimizer, schedule and scaler
states against the ones this run would save itself (same keys, same kinds, same
tensor shapes, same configuration), so a damaged or foreign file is one
``WeightsError`` naming the file and the field before anything is loaded from it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import torch
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator

from graph.file_errors import location_of, show_value
from graph.training import MAX_EPOCHS
from runtime.records import HINT, WeightsError, located

if TYPE_CHECKING:
    from runtime.checkpoint import TrainingState

CHECKPOINT_FORMAT = "layerloom-checkpoint"

Tensors = dict[str, torch.Tensor]


class OptimizerState(BaseModel):
    """``torch.optim.Optimizer.state_dict()``: per-parameter state and the groups."""

    model_config = ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True)

    state: dict[int, dict[str, Any]]
    param_groups: list[dict[str, Any]]


class CheckpointFile(BaseModel):
    """What ``runtime.checkpoint.save`` writes: everything needed to continue a run."""

    model_config = ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True)

    format: Literal["layerloom-checkpoint"]
    version: Literal[1]
    epoch: int = Field(ge=0, le=MAX_EPOCHS)  # the next epoch to run
    global_step: int = Field(ge=0)
    history: list[dict[str, JsonValue]]
    best_value: float | None
    best_epoch: int = Field(ge=-1, le=MAX_EPOCHS)
    bad_epochs: int = Field(ge=0, le=MAX_EPOCHS)
    best_weights: dict[str, Tensors] | None
    weights: dict[str, Tensors]
    optimizers: dict[str, OptimizerState]
    schedules: dict[str, dict[str, Any]]
    scaler: dict[str, Any] | None
    rng: torch.Tensor

    @field_validator("rng")
    @classmethod
    def _rng_state(cls, rng: torch.Tensor) -> torch.Tensor:
        expected = torch.get_rng_state()
        if rng.dtype != expected.dtype or rng.shape != expected.shape:
            raise ValueError(f"expected the {expected.numel()} bytes of a CPU random "
                             f"generator state, got a {rng.dtype} tensor of shape "
                             f"{list(rng.shape)}")
        return rng

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> CheckpointFile:
        """The checkpoint in ``path``, loaded without running code and checked."""
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise WeightsError(f"checkpoint {path} does not exist") from None
        except Exception as exc:  # torch reports a bad archive or a refused type many ways
            raise WeightsError(f"{path} is not a readable Layerloom checkpoint "
                               f"({_first_line(exc)})") from None
        if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
            raise WeightsError(f"{path} is not a Layerloom checkpoint (no \"format\": "
                               f"\"{CHECKPOINT_FORMAT}\"); {HINT}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise located(str(path), "checkpoint field", exc) from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


# -- does it fit this run? -------------------------------------------------------------
# Entries that advance as the run goes; every other entry of a schedule or an optimizer's
# parameter group is configuration, which must equal what this run's own has (else the
# checkpoint was made for another run).
_SCHEDULE_PROGRESS = frozenset({"last_epoch", "_step_count", "_last_lr", "_is_initial",
                                "_get_lr_called_within_step", "best", "num_bad_epochs",
                                "cooldown_counter"})
_GROUP_PROGRESS = frozenset({"lr", "betas", "momentum"})  # schedules move these


def check_fits(ckpt: CheckpointFile, training: TrainingState, path: str) -> None:
    """Raise ``WeightsError`` unless every state in ``ckpt`` can be loaded into ``training``."""
    for name, module in training.networks.items():
        if ckpt.best_weights is not None:
            _fit_best(ckpt.best_weights.get(name), module.state_dict(), name, path)
    for name, optimizer in training.optimizers.items():
        saved = ckpt.optimizers.get(name)
        if saved is None:
            _refuse(path, ["optimizers"], f"there is no state for network '{name}'")
        _fit_optimizer(saved, optimizer, ["optimizers", name], path)
    # A per-batch schedule's configuration (checked equal below) pins the steps per epoch.
    steps_done = {True: ckpt.epoch * training.steps_per_epoch, False: ckpt.epoch}
    for name, schedule in training.schedules.items():
        state = ckpt.schedules.get(name)
        if state:
            at: list[str | int] = ["schedules", name]
            _same_form(state, schedule.state_dict(), at, path, _SCHEDULE_PROGRESS)
            _fit_progress(state, steps_done[schedule.per_batch], at, path)
    scaler = training.scaler
    if scaler is not None and ckpt.scaler:
        _same_form(ckpt.scaler, scaler.state_dict(), ["scaler"], path, None)


def _refuse(path: str, at: list[str | int], reason: str) -> NoReturn:
    raise WeightsError(f"{path}: checkpoint field '{location_of(at)}': {reason}; this "
                       "checkpoint does not fit this run (resume with the graph and training "
                       "settings it was saved with)")


def _fit_best(saved: Tensors | None, live: Mapping[str, torch.Tensor], name: str,
              path: str) -> None:
    at: list[str | int] = ["best_weights", name]
    if saved is None or set(saved) != set(live):
        _refuse(path, at, "the saved best weights do not fit the network's layers")
    for key, tensor in live.items():
        if saved[key].shape != tensor.shape or _number_kind(saved[key]) != _number_kind(tensor):
            _refuse(path, [*at, key], f"expected {_number_kind(tensor)} tensor of shape "
                                      f"{list(tensor.shape)}, got {_show(saved[key])}")


def _fit_optimizer(saved: OptimizerState, optimizer: torch.optim.Optimizer,
                   at: list[str | int], path: str) -> None:
    live = optimizer.state_dict()
    _same_form(saved.param_groups, live["param_groups"], [*at, "param_groups"], path,
               _GROUP_PROGRESS)
    for index, group in enumerate(saved.param_groups):
        _fit_hyperparameters(group, [*at, "param_groups", index], path)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    template = _state_template(optimizer)
    for key, entry in saved.state.items():
        if not 0 <= key < len(params):
            _refuse(path, [*at, "state", key], f"there is no parameter {key}")
        _same_form(entry, template[key], [*at, "state", key], path, None)


def _state_template(optimizer: torch.optim.Optimizer) -> dict[int, Any]:
    """The per-parameter state this optimizer keeps after a step: one step of a twin on
    zero gradients, so any optimizer's own layout is known without listing it here."""
    groups = []
    for group in optimizer.param_groups:
        twins = [torch.zeros_like(p, requires_grad=True) for p in group["params"]]
        for twin in twins:
            twin.grad = torch.zeros_like(twin)
        groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": twins})
    twin_optimizer = type(optimizer)(groups)  # type: ignore[call-arg]  # subclasses default it
    twin_optimizer.step()
    state: dict[int, Any] = twin_optimizer.state_dict()["state"]
    return state


def _fit_hyperparameters(group: Mapping[str, Any], at: list[str | int], path: str) -> None:
    """The values schedules move stay where an optimizer step is defined."""
    if "lr" in group and not 0 <= group["lr"] < math.inf:
        _refuse(path, [*at, "lr"], f"expected a learning rate of at least 0, got "
                                   f"{_show(group['lr'])}")
    factors = [*group.get("betas", ()), *([group["momentum"]] if "momentum" in group else [])]
    if not all(0 <= factor < 1 for factor in factors):
        name = "betas" if "betas" in group else "momentum"
        _refuse(path, [*at, name], f"expected factors from 0 to below 1, got "
                                   f"{_show(group[name])}")


def _fit_progress(state: Mapping[str, Any], done: int, at: list[str | int],
                  path: str) -> None:
    """A schedule cannot be further along than the run that saved it."""
    limits = {"last_epoch": done, "_step_count": done + 1, "num_bad_epochs": done,
              "cooldown_counter": done}
    for key, limit in limits.items():
        value = state.get(key)
        if isinstance(value, int) and not 0 <= value <= limit:
            _refuse(path, [*at, key], f"expected a count from 0 to {limit}, got {value}")


def _kind(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return "a tensor"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "nothing" if value is None else type(value).__name__


def _same_form(value: Any, template: Any, at: list[str | int], path: str,
               free: frozenset[str] | None) -> None:
    """``value`` has ``template``'s form: keys, lengths, kinds and tensor shapes. Unless
    ``free`` is None, it also has ``template``'s values, except under the keys in ``free``."""
    want, got = _kind(template), _kind(value)
    if template is None:
        if got not in ("nothing", "an integer", "a number", "true or false", "a string"):
            _refuse(path, at, f"expected a plain value, got {got}")
        return
    if want == "a number" and got == "an integer":
        got = want
    if want != got:
        _refuse(path, at, f"expected {want}, got {_show(value)}")
    if isinstance(template, dict):
        if set(value) != set(template):
            missing = sorted(map(str, set(template) - set(value)))
            extra = sorted(map(str, set(value) - set(template)))
            _refuse(path, at, f"expected the entries {', '.join(map(str, template))}"
                              + (f" (missing: {', '.join(missing)})" if missing else "")
                              + (f" (unknown: {', '.join(extra)})" if extra else ""))
        for key, inner in template.items():
            _same_form(value[key], inner, [*at, key], path,
                       None if free is None or key in free else free)
    elif isinstance(template, list | tuple):
        if len(value) != len(template):
            _refuse(path, at, f"expected {len(template)} items, got {len(value)}")
        for i, (inner, mine) in enumerate(zip(value, template, strict=True)):
            _same_form(inner, mine, [*at, i], path, free)
    elif isinstance(template, torch.Tensor):
        if value.shape != template.shape or _number_kind(value) != _number_kind(template):
            _refuse(path, at, f"expected {_number_kind(template)} tensor of shape "
                              f"{list(template.shape)}, got {_show(value)}")
    elif free is not None and value != template:
        _refuse(path, at, f"this run has {_show(template)}, the checkpoint "
                          f"{_show(value)}")


def _number_kind(tensor: torch.Tensor) -> str:
    """What a tensor holds, as far as loading it into another one cares."""
    if tensor.dtype == torch.bool:
        return "a boolean"
    if tensor.is_complex():
        return "a complex"
    return "a floating-point" if tensor.is_floating_point() else "an integer"


def _show(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"{_number_kind(value)} tensor of shape {list(value.shape)}"
    return show_value(value)
