"""Run state, checkpoints (atomic, every epoch) and the files a run writes.

Weights are keyed ``<network>.<node id>.<parameter>`` so that renaming a node
never orphans them. Checkpoints load with ``torch.load(weights_only=True)`` and
weights through safetensors: loading either cannot execute code. What they hold
is checked against the typed models of ``runtime.checkpoint_file`` and
``runtime.records`` before anything is used.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from graph.compile import WeightsMismatch, load_state_dict_by_id, state_dict_by_id
from graph.document import Document
from graph.fileformat import save_graph
from graph.training import EarlyStoppingSpec
from runtime.checkpoint_file import CHECKPOINT_FORMAT, CheckpointFile, check_fits
from runtime.records import (
    TOKENIZER_FILE,
    WEIGHTS_FORMAT,
    PreprocessingRecord,
    WeightsError,
    WeightsMetadata,
)
from runtime.runs import OUTCOME

if TYPE_CHECKING:
    from runtime.optim import Schedule
    from runtime.run_data import RunData

__all__ = ["CHECKPOINT_FORMAT", "WEIGHTS_FORMAT", "RunState", "TrainingState", "WeightsError",
           "load_checkpoint", "load_weights", "read_weights", "restore", "save", "save_weights"]


@dataclass
class TrainingState:
    """What a checkpoint holds besides the run's progress, live: the networks, their
    optimizers and schedules, the mixed-precision scaler, and the steps per epoch (a
    per-batch schedule counts its progress in them)."""

    networks: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    schedules: dict[str, Schedule]
    scaler: torch.amp.GradScaler | None
    steps_per_epoch: int


@dataclass
class RunState:
    epoch: int = 0  # the next epoch to run
    global_step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    train_metrics: dict[str, float] = field(default_factory=dict)
    epoch_time: float = 0.0
    samples_per_s: float = 0.0
    best_value: float | None = None
    best_epoch: int = -1
    bad_epochs: int = 0
    best_weights: dict[str, dict[str, torch.Tensor]] | None = None

    def track(self, epoch: int, metrics: dict[str, float], key: str, higher: bool,
              networks: dict[str, nn.Module], keep_best: bool) -> None:
        """Note the epoch's monitored metric; with ``keep_best``, copy the best weights."""
        self.epoch = epoch + 1
        value = metrics.get(key)
        if value is None:
            return
        better = self.best_value is None or (value > self.best_value if higher
                                             else value < self.best_value)
        if better:
            self.best_value, self.best_epoch, self.bad_epochs = value, epoch, 0
            if keep_best:
                self.best_weights = {n: {k: v.detach().clone() for k, v in m.state_dict().items()}
                                     for n, m in networks.items()}
        else:
            self.bad_epochs += 1

    def should_stop_early(self, spec: EarlyStoppingSpec) -> bool:
        return spec.enabled and self.bad_epochs >= spec.patience

    def restore_best(self, networks: dict[str, nn.Module]) -> None:
        assert self.best_weights is not None
        for name, module in networks.items():
            module.load_state_dict(self.best_weights[name])


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a run's files are ordinary
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class CheckpointPacer:
    """When to write the next checkpoint: at most ``share`` of the run's time goes to
    them (a 40 ms save after 0.1 s epochs would otherwise cost a third of the run).

    The first epoch always saves (that measures a save's cost), and so does the last.
    """

    def __init__(self, share: float | None, clock: Callable[[], float] = time.perf_counter):
        self.share = share  # None: every epoch
        self.clock = clock
        self.cost = 0.0
        self.last = clock()

    def due(self, final: bool) -> bool:
        if self.share is None or final:
            return True
        return (self.clock() - self.last) * self.share >= self.cost

    def save(self, write: Callable[[], None]) -> None:
        """Run ``write`` (a checkpoint save) and remember what it cost."""
        start = self.clock()
        write()
        self.last = self.clock()
        self.cost = self.last - start


def save(path: Path, training: TrainingState, state: RunState) -> None:
    """Everything needed to continue the run exactly where it stopped, in the form
    ``CheckpointFile`` reads back (checked here too, so writer and reader cannot drift)."""
    data = CheckpointFile.model_validate({
        "format": CHECKPOINT_FORMAT, "version": 1,
        "epoch": state.epoch, "global_step": state.global_step, "history": state.history,
        "best_value": state.best_value, "best_epoch": state.best_epoch,
        "bad_epochs": state.bad_epochs, "best_weights": state.best_weights,
        "weights": {n: state_dict_by_id(m) for n, m in training.networks.items()},
        "optimizers": {n: o.state_dict() for n, o in training.optimizers.items()},
        "schedules": {n: s.state_dict() for n, s in training.schedules.items()},
        "scaler": training.scaler.state_dict() if training.scaler else None,
        "rng": torch.get_rng_state(),
    }).model_dump()
    _atomic_write(path, lambda tmp: torch.save(data, tmp))


def load_checkpoint(path: str | os.PathLike[str]) -> CheckpointFile:
    """The checkpoint in ``path``, checked; a ``WeightsError`` naming the field if not."""
    return CheckpointFile.read(path)


def restore(path: str | os.PathLike[str], training: TrainingState) -> RunState:
    """Load a checkpoint into a run's live training state and return the progress to
    continue from.

    Everything is checked before anything is loaded, so a refused checkpoint leaves
    the state as it was."""
    data = load_checkpoint(path)
    for name in training.networks:
        if name not in data.weights:
            raise WeightsError(f"checkpoint {path} has no weights for network '{name}'")
    check_fits(data, training, str(path))
    for name, module in training.networks.items():
        _load_by_id(module, data.weights[name], f"checkpoint {path}")
    for name, optimizer in training.optimizers.items():
        optimizer.load_state_dict(data.optimizers[name].model_dump())
    for name, schedule in training.schedules.items():
        schedule.load_state_dict(data.schedules.get(name, {}))
    if training.scaler is not None and data.scaler:
        training.scaler.load_state_dict(data.scaler)
    torch.set_rng_state(data.rng)
    return RunState(
        epoch=data.epoch, global_step=data.global_step, history=list(data.history),
        best_value=data.best_value, best_epoch=data.best_epoch,
        bad_epochs=data.bad_epochs, best_weights=data.best_weights,
    )


def _load_by_id(module: nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    try:
        result = load_state_dict_by_id(module, state, strict=False)
    except WeightsMismatch as exc:  # the graph changed
        raise WeightsError(f"{where} does not fit this network: {exc}") from None
    problems = [*result.missing, *result.unexpected]
    if problems:
        raise WeightsError(f"{where} does not fit this network (mismatched: "
                           f"{', '.join(sorted(problems)[:5])})")


def write_run_files(out_dir: Path, doc: Document, data: RunData,
                    history: list[dict[str, Any]]) -> None:
    """A copy of the graph and the preprocessing, so the run can be reproduced, and the
    metrics log so far (a resumed run's earlier epochs come from its checkpoint)."""
    save_graph(doc, out_dir / "graph.loom")
    text = json.dumps(PreprocessingRecord.of(data.prepared.preprocessing).to_dict(), indent=2)
    _atomic_write(out_dir / "preprocessing.json", lambda tmp: Path(tmp).write_text(text))
    if data.tokenizer is not None:  # an export from checkpoint.pt turns text into ids too
        words = data.tokenizer.model_dump_json(exclude_none=True)
        _atomic_write(out_dir / TOKENIZER_FILE,
                      lambda tmp: Path(tmp).write_text(words, encoding="utf-8"))
    (out_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))


def write_outcome(out_dir: Path, status: str, epochs: int, planned: int,
                  early: dict[str, Any] | None = None) -> None:
    """Say how the run ended (``completed``, ``stopped`` by the user, ``early_stopped``;
    with ``early``: the monitored metric, the patience and the best epoch restored), so
    the Runs panel need not guess it from the epoch count."""
    text = json.dumps({"status": status, "epochs": epochs, "planned": planned,
                       **(early or {})})
    _atomic_write(out_dir / OUTCOME, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def append_log(out_dir: Path, record: dict[str, Any]) -> None:
    with open(out_dir / "metrics.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def save_weights(path: Path, networks: dict[str, nn.Module], data: RunData | None) -> None:
    """All networks' weights in one safetensors file, with the preprocessing as metadata."""
    from safetensors.torch import save_file

    tensors = {f"{name}.{key}": value.detach().cpu().contiguous()
               for name, module in networks.items()
               for key, value in state_dict_by_id(module).items()}
    record = PreprocessingRecord.of(data.prepared.preprocessing) if data is not None else None
    metadata = WeightsMetadata(format=WEIGHTS_FORMAT, networks=list(networks),
                               preprocessing=record,
                               tokenizer=data.tokenizer if data is not None else None
                               ).to_safetensors()
    _atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))


def read_weights(path: str | os.PathLike[str]) -> tuple[dict[str, dict[str, torch.Tensor]],
                                                        WeightsMetadata]:
    """Weights per network and the file's metadata, checked."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            raw = f.metadata()
            metadata = WeightsMetadata.read(raw, str(path))  # before any tensor is read
            tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118
    except FileNotFoundError:
        raise WeightsError(f"weights file {path} does not exist") from None
    except WeightsError:
        raise
    except Exception as exc:
        raise WeightsError(f"{path} is not a readable safetensors file ({exc})") from None
    per_network: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        network, _, rest = key.partition(".")
        per_network.setdefault(network, {})[rest] = value
    return per_network, metadata


def load_weights(path: str | os.PathLike[str],
                 networks: dict[str, nn.Module]) -> WeightsMetadata:
    """Load a ``model.safetensors`` into compiled networks; returns the file's metadata."""
    per_network, metadata = read_weights(path)
    for name, module in networks.items():
        if name not in per_network:
            raise WeightsError(f"{path} holds no weights for network '{name}' "
                               f"(it has: {', '.join(per_network) or 'none'})")
        _load_by_id(module, per_network[name], str(path))
    return metadata
