"""The training loop: device, seeds, schedules, early stopping, checkpoints, telemetry.

``Trainer(doc, options).run()`` trains every network the document's training
section names and returns a ``RunResult``. It never touches Qt; callers watch it
through the ``sink`` (telemetry events) and steer it through a ``RunControl``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from graph.compile import CompileError, compile_network, locate_error
from graph.document import Document
from graph.memory import eval_batch_size
from runtime import checkpoint as ckpt
from runtime.control import RunControl
from runtime.data import DataError
from runtime.device import DevicePlan, pick_device
from runtime.events import (
    CheckpointEvent,
    FinishedEvent,
    RunStatus,
    Sink,
    StartedEvent,
    StepEvent,
    TelemetryEvent,
    epoch_event,
)
from runtime.oom import is_out_of_memory, out_of_memory
from runtime.optim import Schedule, make_training
from runtime.preflight import RunRefused, check_memory, facts_of
from runtime.recipes import RECIPES, NonFiniteLoss, Recipe, StepContext
from runtime.run_data import DataMismatch, RunData, load_run_data
from runtime.run_options import RunOptions as RunOptions  # re-exported: it lived here
from runtime.run_options import RunResult as RunResult
from runtime.run_options import effective_training as effective_training
from runtime.telemetry import Budget, LossTrail, Throttle, grad_norms
from runtime.trace import ProbeRecorder, first_nonfinite_node

if TYPE_CHECKING:
    from runtime.inspect.probes import EpochProbe
    from runtime.lm_samples import EpochSampler

# Activation probes may take at most this share of the run's time (telemetry as a
# whole must stay under 5% of throughput); short epochs are then probed less often.
PROBE_SHARE = 0.025


class TrainingFailed(RuntimeError):
    """The run cannot go on; the message is for the user and names the node if known."""

    def __init__(self, message: str, node_id: str | None = None,
                 network: str | None = None) -> None:
        super().__init__(message)
        self.node_id = node_id
        self.network = network


def higher_is_better(metric: str) -> bool:
    """Accuracies, F1 and R² grow as a model improves; losses and errors shrink."""
    return any(word in metric for word in ("accuracy", "f1", "r2", "precision", "recall"))


class Trainer:
    def __init__(self, doc: Document, options: RunOptions | None = None,
                 sink: Sink | None = None, control: RunControl | None = None) -> None:
        self.doc = doc
        self.options = options or RunOptions()
        self.training = effective_training(doc, self.options)
        self.sink = sink
        self.control = control or RunControl()
        self.main_rank = self.options.rank == 0

    # -- set-up --------------------------------------------------------------
    def emit(self, event: TelemetryEvent) -> None:
        if self.sink is not None:
            self.sink(event)

    def setup(self) -> None:
        """Load data, compile and build optimisers (``run`` calls it if not done yet)."""
        try:
            self._setup()
        except (DataError, DataMismatch, RuntimeError, ValueError) as exc:
            if isinstance(exc, TrainingFailed):
                raise
            if isinstance(exc, RunRefused):
                raise TrainingFailed(str(exc), exc.node_id, exc.network) from None
            if is_out_of_memory(exc):
                raise self._out_of_memory(exc, "while setting up the run") from None
            raise TrainingFailed(str(exc)) from None
        except MemoryError as exc:
            raise self._out_of_memory(exc, "while setting up the run") from None

    def _setup(self) -> None:
        if self.options.threads:
            torch.set_num_threads(self.options.threads)
        self.plan: DevicePlan = pick_device(self.training.device, self.training.precision)
        self.data: RunData = load_run_data(self.doc, self.training, self.plan.device,
                                           self.options.base_dir)
        self.memory_note = check_memory(self.doc, facts_of(self.data.prepared.dataset),
                                        str(self.plan.device))
        torch.manual_seed(self.training.seed)  # initial weights depend on the training seed
        self.networks = self._compile()
        recipe_cls = RECIPES[self.training.task]
        kwargs = {"latent_size": self.data.latent_size} if self.training.task == "gan" else {}
        self.recipe: Recipe = recipe_cls(self._wrapped(), self.training, **kwargs)
        steps = self.data.steps_per_epoch(self.training.batch_size, self.options)
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedules: dict[str, Schedule] = {}
        for name, spec in self.training.networks.items():
            self.optimizers[name], self.schedules[name] = make_training(
                self.networks[name], spec, self.training.epochs, steps)
        scaler = torch.amp.GradScaler(self.plan.device.type) if self.plan.uses_scaler else None
        self.ctx = StepContext(self.optimizers, self.plan.device, self.plan.amp_dtype, scaler,
                               {n: s.grad_clip for n, s in self.training.networks.items()},
                               check_finite=self.plan.device.type == "cpu")
        self.training_state = ckpt.TrainingState(self.networks, self.optimizers, self.schedules,
                                                 scaler, steps)
        self.probe = ProbeRecorder(self.networks, self.data, self.training)
        self.probe_budget = Budget(PROBE_SHARE)
        self.insights = self._insights()
        self.sampler = self._sampler()
        self.step_throttle = Throttle(self.options.step_interval)
        self.trail = LossTrail()

    def _insights(self) -> list[EpochProbe]:
        """The views of the model a run streams (decision boundary, feature maps, …)."""
        if not (self.options.activations and self.main_rank):
            return []
        from runtime.inspect.probes import ProbeContext, epoch_probes

        return epoch_probes(ProbeContext(self.doc, self.networks, self.data, self.training,
                                         self.probe.real))

    def _sampler(self) -> EpochSampler | None:
        """A language model writes a little at each epoch's end, where probes are wanted."""
        if self.training.task != "language_model" or not (self.options.activations
                                                           and self.main_rank):
            return None
        from runtime.lm_samples import epoch_sampler  # it imports this module's users

        return epoch_sampler(self.doc, self.networks, self.data)

    def _compile(self) -> dict[str, nn.Module]:
        networks: dict[str, nn.Module] = {}
        for name in self.training.networks:
            if name not in self.doc.networks:
                raise TrainingFailed(f"the training section names network '{name}', "
                                     "which the document does not have")
            try:
                networks[name] = compile_network(self.doc, name).to(self.plan.device)
            except CompileError as exc:
                raise TrainingFailed(str(exc), exc.node_id, name) from None
        return networks

    def _wrapped(self) -> dict[str, nn.Module]:
        if self.options.world_size == 1:
            return dict(self.networks)
        from runtime.distributed import wrap_ddp

        return {n: wrap_ddp(m, self.plan.device) for n, m in self.networks.items()}

    # -- the run -------------------------------------------------------------
    def run(self) -> RunResult:
        if not hasattr(self, "recipe"):
            self.setup()
        state = ckpt.RunState()
        if self.options.resume:
            state = ckpt.restore(self.options.resume, self.training_state)
        elif self.options.init_weights:
            from runtime.model_source import load_fitting_weights

            load_fitting_weights(self.options.init_weights, self.networks)
        out_dir = Path(self.options.out_dir) if self.options.out_dir else None
        if out_dir is not None and self.main_rank:
            out_dir.mkdir(parents=True, exist_ok=True)
            ckpt.write_run_files(out_dir, self.doc, self.data, state.history)
        self.emit(self._started_event(state))
        status: RunStatus = "completed"
        pacer = ckpt.CheckpointPacer(self.options.checkpoint_share)
        for epoch in range(state.epoch, self.training.epochs):
            if not self._train_epoch(epoch, state):
                status = "stopped"
                break
            record = self._end_epoch(epoch, state)
            state.history.append(record)
            if out_dir is not None and self.main_rank:
                ckpt.append_log(out_dir, record)
                if pacer.due(final=epoch + 1 == self.training.epochs):
                    pacer.save(lambda: ckpt.save(out_dir / "checkpoint.pt", self.training_state,
                                                 state))
                    self.emit(CheckpointEvent(type="checkpoint", epoch=epoch + 1,
                                              path=str(out_dir / "checkpoint.pt")))
            if state.should_stop_early(self.training.early_stopping):
                status = "early_stopped"
                break
        return self._finish(status, state, out_dir)

    def _started_event(self, state: ckpt.RunState) -> StartedEvent:
        event = StartedEvent(
            type="started", device=str(self.plan.device),
            note="; ".join(filter(None, [self.plan.note, *self.data.prepared.dataset.notes,
                                         self.memory_note])),
            task=self.training.task, epochs=self.training.epochs,
            first_epoch=state.epoch, batch_size=self.training.batch_size,
            samples=len(self.data.train_x),
            steps_per_epoch=self.data.steps_per_epoch(self.training.batch_size, self.options),
            params={n: sum(p.numel() for p in m.parameters())
                    for n, m in self.networks.items()},
        )
        if self.data.text_baselines:  # what n-gram counts reach on the held-out text
            event["baselines"] = dict(self.data.text_baselines)
        return event

    def _train_epoch(self, epoch: int, state: ckpt.RunState) -> bool:
        """Train one epoch; False when the user stopped the run."""
        self.recipe.train(True)
        throttle = self.step_throttle
        totals: dict[str, torch.Tensor] = {}  # a GAN reports d_loss and g_loss besides loss
        seen = 0
        start = time.perf_counter()
        order = self.data.epoch_batches(epoch, self.training, self.options)
        for step, (x, y) in enumerate(order):
            if not self.control.checkpoint(self.emit):
                return False
            losses = self._step(x, y, epoch, step)
            for key, value in losses.items():
                if key not in totals:
                    totals[key] = torch.zeros((), device=self.plan.device)
                totals[key].add_(value, alpha=len(x))
            seen += len(x)
            for schedule in self.schedules.values():
                schedule.after_batch()
            state.global_step += 1
            self.trail.add(epoch + (step + 1) / len(order), losses)
            if throttle.ready():
                loss = self._report_step(epoch, step, len(order), losses, seen, start)
                if not math.isfinite(loss):
                    self._fail_nonfinite(epoch, x)
        if seen:
            state.train_metrics = {k: float(t) / seen for k, t in totals.items()}
            if not math.isfinite(state.train_metrics["loss"]):
                self._fail_nonfinite(epoch, x)
            state.epoch_time = time.perf_counter() - start
            state.samples_per_s = seen / max(state.epoch_time, 1e-9)
        return True

    def _step(self, x: torch.Tensor, y: torch.Tensor | None, epoch: int,
              step: int) -> dict[str, torch.Tensor]:
        try:
            return self.recipe.train_step(x, y, self.ctx)
        except NonFiniteLoss:
            self._fail_nonfinite(epoch, x)
            raise
        except Exception as exc:
            if is_out_of_memory(exc):
                raise self._out_of_memory(exc, f"in epoch {epoch + 1}") from None
            for name, module in self.networks.items():
                located = locate_error(module, exc)
                if located is not None:
                    raise TrainingFailed(str(located), located.node_id, name) from None
            raise

    def _out_of_memory(self, exc: BaseException, where: str) -> TrainingFailed:
        found = out_of_memory(exc, getattr(self, "networks", {}), where,
                              self.training.batch_size)
        return TrainingFailed(found.message, found.node_id, found.network)

    def _evaluate(self, x: torch.Tensor, y: torch.Tensor | None, split: str) -> dict[str, float]:
        try:
            return self.recipe.evaluate(x, y, self._eval_batch, self.ctx)
        except Exception as exc:
            if is_out_of_memory(exc):
                raise self._out_of_memory(exc, f"evaluating the {split} split") from None
            raise

    def _report_step(self, epoch: int, step: int, steps: int,
                     losses: dict[str, torch.Tensor], seen: int, start: float) -> float:
        elapsed = time.perf_counter() - start
        rate = seen / max(elapsed, 1e-9)
        remaining = (steps - step - 1) + steps * (self.training.epochs - epoch - 1)
        event = StepEvent(
            type="step", epoch=epoch + 1, step=step + 1, steps=steps,
            samples_per_s=rate, eta_s=remaining * elapsed / max(step + 1, 1),
            lr={n: o.param_groups[0]["lr"] for n, o in self.optimizers.items()},
            loss=float(losses["loss"]),
            grad_norms={n: grad_norms(m, getattr(m, "node_ids", {}))
                        for n, m in self.networks.items()},
        )
        if "d_loss" in losses:  # a GAN: one loss per network beside their sum
            event["d_loss"], event["g_loss"] = float(losses["d_loss"]), float(losses["g_loss"])
        event["trail"] = self.trail.take()
        self.emit(event)
        return event["loss"]

    def _fail_nonfinite(self, epoch: int, x: torch.Tensor) -> None:
        found = first_nonfinite_node(self.networks, x, self.data)
        where = f"; the first non-finite values came from {found[1]}" if found else ""
        raise TrainingFailed(
            f"the loss became NaN or infinite in epoch {epoch + 1}{where}. Try a lower "
            "learning rate, gradient clipping, or normalised inputs.",
            found[2] if found else None, found[0] if found else None)

    def _end_epoch(self, epoch: int, state: ckpt.RunState) -> dict[str, Any]:
        metrics = {f"train_{k}": v for k, v in state.train_metrics.items()}
        if self.data.has_val:
            val = self._evaluate(self.data.val_x, self.data.val_y, "validation")
            metrics.update({f"val_{k}": v for k, v in val.items()})
        key = self._monitor_key()
        monitored = metrics.get(key)
        if monitored is not None and higher_is_better(key):
            monitored = -monitored  # plateau schedules wait for a metric to stop falling
        for schedule in self.schedules.values():
            schedule.after_epoch(monitored)
        stopping = self.training.early_stopping
        state.track(epoch, metrics, key, higher_is_better(key), self.networks,
                    keep_best=stopping.enabled and stopping.restore_best)
        lr = {n: o.param_groups[0]["lr"] for n, o in self.optimizers.items()}
        record = {"epoch": epoch + 1, **metrics, "time_s": state.epoch_time,
                  "samples_per_s": state.samples_per_s, "lr": lr}
        self.emit(epoch_event(epoch + 1, metrics, state.epoch_time, state.samples_per_s, lr))
        last = epoch + 1 == self.training.epochs
        if self.options.activations and self.main_rank and (last or self.probe_budget.allows()):
            with self.probe_budget.spending():
                self.emit(self.probe.record(epoch + 1))
                samples = self.probe.samples(epoch + 1)
                if samples:
                    self.emit(samples)
                for insight in list(self.insights):
                    try:
                        view = insight.record()
                    except Exception:  # a view of the run must never end the run
                        self.insights.remove(insight)
                        continue
                    if view is not None:
                        self.emit({"type": insight.kind, "epoch": epoch + 1, **view})
        if self.sampler is not None:
            self.emit(self.sampler.event(epoch + 1, state.epoch_time))
        return record

    def _write_outcome(self, out_dir: Path, status: RunStatus, state: ckpt.RunState,
                       restored: bool) -> None:
        early = None
        if status == "early_stopped":
            early = {"monitor": self._monitor_key(),
                     "patience": self.training.early_stopping.patience,
                     "best_epoch": state.best_epoch + 1, "restored": restored}
        ckpt.write_outcome(out_dir, status, len(state.history), self.training.epochs, early)

    def _test_metrics(self, last: dict[str, Any], restored: bool) -> dict[str, float]:
        """The test split's metrics. A language model holds out one text for both
        validation and test: with the weights the last epoch validated, that epoch's
        figures are the test's, and a second pass over the text (seconds) is skipped."""
        same = self.data.test_x is self.data.val_x and self.data.test_y is self.data.val_y
        validated = {k[len("val_"):]: v for k, v in last.items() if k.startswith("val_")}
        if same and validated and not restored:
            return validated
        return self._evaluate(self.data.test_x, self.data.test_y, "test")

    @property
    def _eval_batch(self) -> int:
        return eval_batch_size(self.training.batch_size)  # as the memory estimate counts

    def _ddp_checks(self) -> dict[str, Any]:
        """Sanity of the distributed run: identical weights, disjoint shards."""
        from runtime.distributed import shards_disjoint, weights_in_sync

        indices = self.data.iterator(self.training, self.options).epoch_indices(0)
        return {"ddp_ranks": self.options.world_size,
                "ddp_weights_in_sync": weights_in_sync(self.networks),
                "ddp_shards_disjoint": shards_disjoint(indices, len(self.data.train_x))}

    def _monitor_key(self) -> str:
        wanted = self.training.early_stopping.monitor
        if wanted != "val_loss" or not self.data.has_val:
            return wanted if self.data.has_val else "train_loss"
        return "val_loss"

    def _finish(self, status: RunStatus, state: ckpt.RunState, out_dir: Path | None) -> RunResult:
        restored = state.best_weights is not None and \
            self.training.early_stopping.enabled and self.training.early_stopping.restore_best
        if restored:
            state.restore_best(self.networks)
        metrics = dict(state.history[-1]) if state.history else {}
        metrics.pop("lr", None)
        if self.data.has_test and status != "stopped":
            metrics.update({f"test_{k}": v for k, v in self._test_metrics(metrics, restored)
                            .items()})
        if self.options.world_size > 1:
            metrics.update(self._ddp_checks())
        if out_dir is not None and self.main_rank:
            ckpt.save_weights(out_dir / "model.safetensors", self.networks, self.data)
            self._write_outcome(out_dir, status, state, restored)
        self.emit(FinishedEvent(type="finished", status=status, epochs_done=len(state.history),
                                metrics=metrics))
        return RunResult(status, len(state.history), metrics,
                         state.history, out_dir, self.networks)


def train(doc: Document, options: RunOptions | None = None, sink: Sink | None = None,
          control: RunControl | None = None) -> RunResult:
    """Train ``doc`` in this process (the runner calls this in a child process)."""
    return Trainer(doc, options, sink, control).run()


