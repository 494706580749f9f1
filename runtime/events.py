"""The telemetry events a run streams, as types mypy checks (plain dicts on the wire).

A run sends dicts keyed on ``"type"`` through a queue, into ``metrics.jsonl`` and to
the window unchanged; the TypedDicts below say what each kind holds, so a reader that
narrows on ``event["type"]`` is checked key by key. ``RunEvent`` is the closed union
of the trainer's and the runner's own kinds. The epoch probes of ``runtime.inspect``
add kinds of their own (``{"type": probe.kind, "epoch": n, **record}``); they travel
as ``InsightEvent``, typed loosely, and their readers check their own records.

A reader of every event takes a ``TelemetryEvent`` and asks ``run_event`` whether it
is one of the run's own kinds before narrowing on its type. Epoch events carry the
epoch's metrics at the top level, as ``metrics.jsonl`` stores them (``train_loss``,
``val_accuracy``, …): ``metrics_of`` reads them.
"""

from collections.abc import Callable, Mapping
from typing import Any, Literal, NotRequired, TypeAlias, cast, get_args, get_type_hints

# Annotations are evaluated here (no postponed annotations) so that NotRequired keys
# are known at run time; pydantic, which the tests check events with, wants
# typing_extensions' TypedDict on Python 3.11.
from typing_extensions import TypedDict

RunStatus = Literal["completed", "stopped", "early_stopped"]


class StartedEvent(TypedDict):
    """Data loaded, networks compiled: the run's first event."""

    type: Literal["started"]
    device: str
    note: str  # device fallbacks, data notes, memory warnings ("" when none)
    task: str
    epochs: int
    first_epoch: int  # 0, or the epoch a resumed run continues from
    batch_size: int
    samples: int  # training samples
    steps_per_epoch: int
    params: dict[str, int]  # per network
    baselines: NotRequired[dict[str, float]]  # a language model's n-gram losses


class StepEvent(TypedDict):
    """A training step, at most every ``RunOptions.step_interval`` seconds."""

    type: Literal["step"]
    epoch: int  # from 1
    step: int  # from 1
    steps: int  # in this epoch
    samples_per_s: float
    eta_s: float
    lr: dict[str, float]  # per network
    loss: float
    d_loss: NotRequired[float]  # a GAN's two networks
    g_loss: NotRequired[float]
    grad_norms: dict[str, dict[str, float]]  # network -> node id -> gradient norm
    # the steps since the last step event, as means of runs of consecutive steps:
    # "at" (epochs, fractional) and each loss ("loss", a GAN's "d_loss", "g_loss")
    trail: NotRequired[dict[str, list[float]]]


class EpochEvent(TypedDict):
    """An epoch's end; its metrics (``train_*``, ``val_*``) ride at the top level."""

    type: Literal["epoch"]
    epoch: int
    time_s: float
    samples_per_s: float
    lr: dict[str, float]
    train_loss: float
    val_loss: NotRequired[float]


class NodeSummary(TypedDict):
    """One node's output on the probe batch (``runtime.telemetry.summarize``)."""

    mean: float | None
    std: float | None
    hist: list[int]
    range: list[float]
    dead: float
    nonfinite: bool
    maps: NotRequired[list[Any]]  # a few feature maps of the first sample (N×C×H×W outputs)


class ActivationsEvent(TypedDict):
    type: Literal["activations"]
    epoch: int
    networks: dict[str, dict[str, NodeSummary]]  # network -> node id -> summary


class SamplesEvent(TypedDict):
    """Generated samples (GAN) or reconstructions (autoencoder), flattened per sample."""

    type: Literal["samples"]
    epoch: int
    kind: Literal["generated", "reconstruction"]
    shape: list[int]  # of one sample
    values: list[list[float]]
    inputs: NotRequired[list[list[float]]]  # reconstructions: what was reconstructed


class TextSampleEvent(TypedDict):
    """A language model's writing at an epoch's end (``runtime.lm_samples``)."""

    type: Literal["text_sample"]
    epoch: int
    prompt: str
    text: str
    cut_short: bool
    temperature: float
    seed: int
    seconds: float


class CheckpointEvent(TypedDict):
    type: Literal["checkpoint"]
    epoch: int  # epochs done
    path: str


class PausedEvent(TypedDict):
    type: Literal["paused"]


class ResumedEvent(TypedDict):
    type: Literal["resumed"]


class FinishedEvent(TypedDict):
    type: Literal["finished"]
    status: RunStatus
    epochs_done: int
    metrics: dict[str, Any]  # final train_*, val_*, test_* (and a DDP run's checks)


class FailedEvent(TypedDict):
    """The run could not go on; ``message`` is for the user."""

    type: Literal["failed"]
    message: str
    node: str | None  # the node to show, when known
    network: str | None
    traceback: NotRequired[str]  # an unexpected error's


class CrashedEvent(TypedDict):
    """The training process died (or was abandoned) without a last word."""

    type: Literal["crashed"]
    exitcode: int | None
    message: str


RunEvent: TypeAlias = (StartedEvent | StepEvent | EpochEvent | ActivationsEvent | SamplesEvent
                       | TextSampleEvent | CheckpointEvent | PausedEvent | ResumedEvent
                       | FinishedEvent | FailedEvent | CrashedEvent)
EndEvent: TypeAlias = FinishedEvent | FailedEvent | CrashedEvent
# An epoch probe's record: {"type": probe.kind, "epoch": n, **record} (runtime.inspect).
InsightEvent: TypeAlias = dict[str, Any]
TelemetryEvent: TypeAlias = RunEvent | InsightEvent
Sink: TypeAlias = Callable[[TelemetryEvent], None]


def _kinds(union: object) -> dict[str, type]:
    kinds: dict[str, type] = {}
    for member in get_args(union):
        (kind,) = get_args(get_type_hints(member)["type"])
        kinds[kind] = member
    return kinds


RUN_EVENT_TYPES: dict[str, type] = _kinds(RunEvent)
END_TYPES = frozenset(_kinds(EndEvent))


def run_event(event: TelemetryEvent) -> RunEvent | None:
    """``event`` as one of the run's own kinds (then narrow on its ``type``); None for
    the kinds the epoch probes add."""
    return cast(RunEvent, event) if event.get("type") in RUN_EVENT_TYPES else None


def end_event(event: TelemetryEvent) -> EndEvent | None:
    """``event`` if it ends the run (finished, failed, crashed), else None."""
    return cast(EndEvent, event) if event.get("type") in END_TYPES else None


def epoch_event(epoch: int, metrics: Mapping[str, float], time_s: float,
                samples_per_s: float, lr: dict[str, float]) -> EpochEvent:
    """The epoch event: the fixed fields, checked, and ``metrics`` (``train_*``,
    ``val_*``) beside them."""
    fixed = EpochEvent(type="epoch", epoch=epoch, time_s=time_s, samples_per_s=samples_per_s,
                       lr=lr, train_loss=metrics["train_loss"])
    return cast(EpochEvent, {**metrics, **fixed})  # a TypedDict cannot name the metrics


def metrics_of(event: EpochEvent | Mapping[str, object]) -> dict[str, float]:
    """The ``train_*`` and ``val_*`` metrics of an epoch event (or a metrics.jsonl row)."""
    return {k: v for k, v in event.items()
            if k.startswith(("train_", "val_")) and isinstance(v, float)}
