"""One training step, walked through: forward, loss, backward, update, with torch's numbers.

``walk_step`` takes a sample (or a small batch) of the training split and does what
one training step does, on copies of the networks: the forward pass (each node's
output, in the order it ran), the task's loss, the backward pass (the gradient
norm along every wire and of each node's parameters) and one step of the
document's optimizer (each weighted node's ‖Δw‖ / ‖w‖, the loss on the same batch
before and after). The networks passed in are never changed: the caller gets the
updated state dicts and decides whether to keep them.

The step runs in training mode, as the trainer does (dropout and batch norm behave
as in training; dropout draws from a fixed seed so "before" and "after" compare like
with like, and the caller's random state is left as it was). Augmentation is not
applied: the sample is shown as it is stored. A GAN walks its discriminator's step
(real samples against the generator's output for fixed noise); the generator is
not updated.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import torch
from torch import nn

from graph.compile import locate_error
from graph.document import Document
from graph.training import TrainingSpec
from runtime.inspect.forward import ForwardRecord, output_node_id, record_of
from runtime.inspect.step_loss import (
    GAN_TARGET,
    LossRecord,
    discriminator_loss,
    discriminator_record,
    loss_stage,
    sample_label,
)
from runtime.inspect.step_wires import WireWatch
from runtime.optim import make_training
from runtime.run_data import RunData, data_network

NOISE_SEED = 1234
DROPOUT_SEED = 0


class StepError(ValueError):
    """The step cannot be walked; the message is for the user."""


class BackwardRecord(TypedDict):
    outputs: dict[str, float]  # node id → ‖∂loss/∂output‖ (all wires leaving it together)
    wires: dict[str, float]  # "source>target" → ‖∂loss/∂(the value on that wire)‖
    params: dict[str, float]  # weighted node id → ‖∂loss/∂w‖ over all its parameters


class UpdateRecord(TypedDict):
    optimizer: str
    lr: float
    relative: dict[str, float]  # weighted node id → ‖Δw‖ / ‖w‖
    change: dict[str, float]  # weighted node id → ‖Δw‖
    loss_before: float
    loss_after: float


class StepRecord(TypedDict):
    """Everything the step view draws; plain data (it crosses process boundaries)."""

    network: str
    order: list[str]  # node ids in the order the forward pass reached them
    output: str | None  # the Output node's id
    index: int  # first training sample of the batch (the one shown)
    batch: int
    label: str  # the shown sample's target, in words
    forward: dict[str, ForwardRecord]
    loss: LossRecord
    backward: BackwardRecord
    update: UpdateRecord
    note: str  # what this step walk did differently from training, in words
    # batch norm in training mode normalised a batch of one by its own statistics
    batch_norm_alone: bool


@dataclass
class StepResult:
    record: StepRecord
    states: dict[str, dict[str, torch.Tensor]]  # every network's state after the step (CPU)


def _param_norms(module: nn.Module, names: Mapping[str, str],
                 which: str) -> dict[str, torch.Tensor]:
    """Per node id: the norm of all its parameters (``which`` "data") or gradients ("grad")."""
    norms: dict[str, torch.Tensor] = {}
    for attr, node_id in names.items():
        tensors = [p.detach() if which == "data" else p.grad
                   for p in module.get_submodule(attr).parameters() if p.requires_grad]
        found = [t.float().reshape(-1) for t in tensors if t is not None]
        if found:
            norms[node_id] = torch.linalg.vector_norm(torch.cat(found))
    return norms


def _snapshot(module: nn.Module, names: Mapping[str, str]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for attr, node_id in names.items():
        params = [p.detach().float().reshape(-1) for p in module.get_submodule(attr).parameters()
                  if p.requires_grad]
        if params:
            out[node_id] = torch.cat(params).clone()
    return out


def _batch(data: RunData, index: int, size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    n = len(data.train_x)
    if n == 0:
        raise StepError("the training split is empty: there is no sample to step with")
    if not 0 <= index < n:
        raise StepError(f"sample {index} does not exist: the training split has samples "
                        f"0 to {n - 1}")
    picked = [(index + k) % n for k in range(max(1, min(size, n)))]
    rows = torch.tensor(picked, device=data.train_x.device)
    y = data.train_y[rows] if data.train_y is not None else None
    return data.train_x[rows], y


def walk_step(doc: Document, training: TrainingSpec, networks: Mapping[str, nn.Module],
              data: RunData, index: int = 0, batch: int = 1,
              optimizer_states: Mapping[str, dict[str, Any]] | None = None) -> StepResult:
    """Walk one training step on copies of ``networks`` with samples ``index`` … of the
    training split (``batch`` of them; the first is shown).

    ``optimizer_states`` (a paused run's optimizers' state dicts) continue the run's
    optimizer (its moments and current learning rate); without them the optimizer
    starts fresh, as at the start of a run. Raises ``StepError`` with a message for
    the user."""
    copies = {name: copy.deepcopy(module) for name, module in networks.items()}
    network = data_network(doc, training)
    x, y = _batch(data, index, batch)
    device = data.train_x.device
    cuda = [torch.cuda.current_device() if device.index is None else device.index] \
        if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):  # a paused run's random streams go on as before
        try:
            record = _walk(doc, training, copies, network, data, x, y, optimizer_states)
        except StepError:
            raise
        except (RuntimeError, ValueError) as exc:
            located = locate_error(copies[network], exc)
            message = str(located) if located is not None else str(exc)
            if "more than 1 value per channel" in message:
                message = ("batch normalisation needs at least 2 samples in training mode; "
                           "step with a batch of 2 or more")
            raise StepError(f"the step could not run: {message}") from None
    label = GAN_TARGET if training.task == "gan" else sample_label(data, index)
    record["index"], record["batch"], record["label"] = index, len(x), label
    states = {name: {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}
              for name, m in copies.items()}
    return StepResult(record, states)


def _walk(doc: Document, training: TrainingSpec, copies: dict[str, nn.Module], network: str,
          data: RunData, x: torch.Tensor, y: torch.Tensor | None,
          optimizer_states: Mapping[str, dict[str, Any]] | None) -> StepRecord:
    module = copies[network]
    for m in copies.values():
        m.train(True)
    names: dict[str, str] = dict(getattr(module, "node_ids", {}))
    output = output_node_id(doc, network)
    fake: torch.Tensor | None = None
    if training.task == "gan":
        generator = copies[data.generator]
        noise = torch.randn(len(x), data.latent_size,
                            generator=torch.Generator().manual_seed(NOISE_SEED)).to(x.device)
        with torch.no_grad():
            fake = generator(noise)
        x = x.reshape(fake.shape)

    def loss_of(out: torch.Tensor) -> tuple[torch.Tensor, LossRecord]:
        if fake is None:
            return loss_stage(training, data, out, x, y)
        loss = discriminator_loss(out, module(fake))
        return loss, discriminator_record(out, loss)

    torch.manual_seed(DROPOUT_SEED)
    watch = WireWatch(module, output)
    with watch:
        out = module(watch.inputs(x))
        watch.watch_result(out)  # before a GAN's discriminator also scores the fakes
        loss, loss_record = loss_of(out)
    optimizer, _ = make_training(module, training.networks[network], training.epochs, 1)
    if optimizer_states and network in optimizer_states:
        optimizer.load_state_dict(copy.deepcopy(optimizer_states[network]))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grads = _param_norms(module, names, "grad")
    clip = training.networks[network].grad_clip
    if clip:
        nn.utils.clip_grad_norm_(module.parameters(), clip)
    before = _snapshot(module, names)
    lr = float(optimizer.param_groups[0]["lr"])
    optimizer.step()
    after = _snapshot(module, names)
    state = copy.deepcopy(module.state_dict())
    torch.manual_seed(DROPOUT_SEED)
    with torch.no_grad():
        loss_after = float(loss_of(module(x))[0])
    module.load_state_dict(state)  # the second forward moved batch-norm statistics again
    change = {n: torch.linalg.vector_norm(after[n] - before[n]) for n in before}
    return StepRecord(
        network=network, order=list(watch.outputs), output=output, index=0, batch=len(x),
        label="", forward={n: record_of(t[0]) for n, t in watch.outputs.items()},
        loss=loss_record,
        backward=BackwardRecord(outputs=watch.output_norms(), wires=watch.wire_norms(),
                                params={n: float(g) for n, g in grads.items()}),
        update=UpdateRecord(
            optimizer=training.networks[network].optimizer.name, lr=lr,
            relative={n: float(change[n] / max(float(torch.linalg.vector_norm(before[n])),
                                               1e-12)) for n in change},
            change={n: float(c) for n, c in change.items()},
            loss_before=float(loss_record["value"]), loss_after=loss_after),
        note=_note(training, data, clip),
        batch_norm_alone=len(x) == 1 and any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules()))


def _note(training: TrainingSpec, data: RunData, clip: float | None) -> str:
    notes = ["training mode (dropout and batch norm as in training), no augmentation"]
    if clip:
        notes.append(f"gradients clipped to norm {clip:g} before the update")
    if training.task == "gan":
        notes.append(f"the discriminator's step: real samples against the generator's "
                     f"output for fixed noise; the generator '{data.generator}' is not updated")
    return "; ".join(notes)
