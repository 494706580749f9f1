"""What every export format shares: the report, errors, the network's signature,
sample inputs, the metadata record, the numerical check and atomic writes."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from graph.catalog import TensorSpec
from graph.compile import CompileError, plan_network, python_name
from graph.document import Document

EXPORT_FORMAT = "layerloom-export"
EXPORT_VERSION = 1
CHECK_BATCHES = (1, 7)  # a batch of one and an odd size: catches a batch baked into the graph
TRACE_BATCH = 2  # tracing with 1 would let torch.export specialise the batch dimension
TOLERANCE = 1e-4  # largest |exported - torch| an export may differ by (float32)
BATCH_AXIS = "batch"
SEQUENCE_AXIS = "sequence"

Inputs = tuple[torch.Tensor, ...]
Runner = Callable[[Inputs], torch.Tensor]


class ExportError(ValueError):
    """An export the user asked for cannot be made; the message says why and what to do."""


@dataclass
class ExportReport:
    """What an export wrote and how well the written model agrees with torch.

    ``checks`` maps a batch size to the largest absolute difference between the
    exported model's output and the PyTorch module's on the same random inputs.
    """

    format: str
    network: str
    paths: list[Path]  # the main file first, then what was written beside it
    exporter: str  # "dynamo" / "torchscript" (ONNX), "torch.export", "codegen", "safetensors"
    checks: dict[int, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        """The main file written (the .onnx, .pt2, .py or .safetensors)."""
        return self.paths[0]

    @property
    def max_diff(self) -> float:
        return max(self.checks.values(), default=0.0)

    def describe(self) -> str:
        """A few lines for the command line or a dialog."""
        diffs = ", ".join(f"batch {b}: {d:.1e}" for b, d in self.checks.items())
        lines = [f"exported network '{self.network}' as {self.format} with {self.exporter}",
                 *(f"  wrote {p}" for p in self.paths)]
        if diffs:
            lines.append(f"  largest difference from PyTorch: {diffs}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


# -- the network's signature -------------------------------------------------------
@dataclass(frozen=True)
class Port:
    """One argument (or the result) of the exported model: its name and per-sample spec."""

    name: str
    spec: TensorSpec

    def info(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "sample_shape": list(self.spec.shape),
                                "dtype": "int64" if self.spec.dtype == "long" else "float32"}
        if self.spec.vocab is not None:
            data["vocab_size"] = self.spec.vocab
        return data


@dataclass(frozen=True)
class Signature:
    """The forward's arguments (in order) and result of one network, batch first."""

    network: str
    inputs: tuple[Port, ...]
    output: Port
    input_ids: tuple[str, ...]  # node ids of the inputs, as the compiled module lists them
    layer_ids: frozenset[str]
    # A language model's token sequences may be any length up to this (axis 1 of the
    # inputs and the output is dynamic); None: every size but the batch is fixed.
    max_length: int | None = None
    tokenizer: dict[str, Any] | None = None  # a TokenizerRecord's data: text ↔ ids

    @property
    def input_names(self) -> list[str]:
        return [port.name for port in self.inputs]

    def sample(self, batch: int, seed: int = 0, length: int | None = None) -> Inputs:
        """Random inputs: N(0, 1) values, or token ids below the vocabulary size;
        ``length`` sets the sequence length of a model with a dynamic one."""
        gen = torch.Generator().manual_seed(seed)
        return tuple(_random(port.spec, batch, gen, length) for port in self.inputs)

    def check_length(self, batch: int) -> int | None:
        """The sequence length compared at ``batch``: one token, and the full context."""
        if self.max_length is None:
            return None
        return 1 if batch == min(CHECK_BATCHES) else self.max_length

    def info(self) -> dict[str, Any]:
        data = {"network": self.network, "inputs": [p.info() for p in self.inputs],
                "output": self.output.info()}
        if self.max_length is not None:
            data["sequence"] = {"axis": 1, "max_length": self.max_length}
        if self.tokenizer is not None:
            data["tokenizer"] = self.tokenizer
        return data


def dynamic_shapes(signature: Signature) -> tuple[dict[int, Any], ...]:
    """torch.export's dynamic dimensions: the batch, and a language model's length."""
    batch = torch.export.Dim(BATCH_AXIS, min=1)
    if signature.max_length is None:
        return tuple({0: batch} for _ in signature.inputs)
    length = torch.export.Dim(SEQUENCE_AXIS, min=1, max=signature.max_length)
    return tuple({0: batch, 1: length} for _ in signature.inputs)


def _random(spec: TensorSpec, batch: int, gen: torch.Generator,
            length: int | None = None) -> torch.Tensor:
    shape = spec.shape if length is None else (length, *spec.shape[1:])
    if spec.dtype == "long":
        return torch.randint(0, spec.vocab or 1, (batch, *shape), generator=gen)
    return torch.randn((batch, *shape), generator=gen)


def signature_of(doc: Document, network: str) -> Signature:
    """The signature compile gives ``network``; ``ExportError`` when it does not compile."""
    try:
        plan = plan_network(doc, network)
    except CompileError as exc:
        raise ExportError(f"network '{network}' cannot be exported: {exc}") from None
    inputs = tuple(Port(step.name, step.out) for step in plan.inputs)
    name = python_name(plan.output.label)
    if name in {p.name for p in inputs}:
        name = f"{name}_out"
    # A language model reads token ids of any length up to its context (it is causal:
    # validation refuses one that is not), so exports keep that length free.
    text = doc.training.task == "language_model" and len(inputs) == 1 and \
        inputs[0].spec.dtype == "long" and len(inputs[0].spec.shape) == 1
    return Signature(network, inputs, Port(name, plan.out),
                     tuple(step.node.id for step in plan.inputs),
                     frozenset(step.node.id for step in plan.layers),
                     inputs[0].spec.shape[0] if text else None)


def pick_network(doc: Document, network: str | None) -> str:
    """``network``, or the one to export when none is named (the only one, or 'main')."""
    names = list(doc.networks)
    if network is not None:
        if network not in doc.networks:
            raise ExportError(f"there is no network '{network}'; the document has: "
                              f"{', '.join(names)}")
        return network
    if len(names) == 1:
        return names[0]
    if "main" in doc.networks:
        return "main"
    hint = " ('generator' makes new samples)" if "generator" in doc.networks else ""
    raise ExportError(f"the document has {len(names)} networks ({', '.join(names)}); say "
                      f"which to export with --network NAME{hint}")


def prepare_module(module: nn.Module, signature: Signature) -> nn.Module:
    """A CPU, float32, eval-mode copy of a compiled module that matches ``signature``."""
    import copy

    node_ids = getattr(module, "node_ids", None)
    input_ids = tuple(getattr(module, "input_ids", ()))
    if node_ids is None or set(node_ids.values()) != signature.layer_ids or \
            input_ids != signature.input_ids:
        raise ExportError(f"the module was not compiled from network '{signature.network}' "
                          "as it is now; compile it again (graph.compile.compile_network)")
    return copy.deepcopy(module).to("cpu", torch.float32).eval()


# -- metadata ----------------------------------------------------------------------
def preprocessing_record(preprocessing: Any) -> dict[str, Any] | None:
    """A checked ``Preprocessing.to_dict()`` record from a ``Preprocessing``, a dict or None."""
    from pydantic import ValidationError

    from runtime.data.preprocess import Preprocessing
    from runtime.records import PreprocessingRecord, WeightsError, describe

    if preprocessing is None:
        return None
    try:
        if isinstance(preprocessing, Preprocessing):
            return PreprocessingRecord.of(preprocessing).to_dict()
        return PreprocessingRecord.model_validate(preprocessing).to_dict()
    except WeightsError as exc:
        raise ExportError(str(exc)) from None
    except ValidationError as exc:
        where, reason = describe(exc)
        raise ExportError(f"the preprocessing record is not usable: '{where}': "
                          f"{reason}") from None


def export_metadata(signature: Signature, preprocessing: dict[str, Any] | None,
                    exporter: str) -> dict[str, Any]:
    """The record every export carries: what goes in and out, and how to prepare inputs."""
    return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exporter": exporter,
            **signature.info(), "preprocessing": preprocessing}


# -- checking ----------------------------------------------------------------------
def max_abs_diff(expected: torch.Tensor, got: torch.Tensor) -> float:
    """Largest |expected - got|; NaN where both are NaN counts as equal, shape errors as inf."""
    if tuple(expected.shape) != tuple(got.shape):
        return float("inf")
    expected, got = expected.double(), got.double()
    both_nan = torch.isnan(expected) & torch.isnan(got)
    diff = torch.where(both_nan, torch.zeros_like(expected), (expected - got).abs())
    return float(diff.max()) if diff.numel() else 0.0


def compare(module: nn.Module, run: Runner, signature: Signature,
            batches: Sequence[int] = CHECK_BATCHES) -> dict[int, float]:
    """Max abs difference between ``run`` and ``module`` at each batch size."""
    checks: dict[int, float] = {}
    for batch in batches:
        inputs = signature.sample(batch, seed=batch, length=signature.check_length(batch))
        with torch.no_grad():
            expected = module(*inputs)
            checks[batch] = max_abs_diff(expected, run(inputs))
    return checks


def check_failure(checks: Mapping[int, float]) -> str | None:
    """Why ``checks`` fail the tolerance, or None when they pass."""
    if all(d <= TOLERANCE for d in checks.values()):
        return None
    diffs = ", ".join(f"{d:.2e} at batch {b}" for b, d in checks.items())
    return f"its outputs differ from PyTorch's by up to {diffs} (allowed: {TOLERANCE:.0e})"


def require_checks(checks: dict[int, float], what: str) -> dict[int, float]:
    problem = check_failure(checks)
    if problem:
        raise ExportError(f"{what}: {problem}")
    return checks


# -- files -------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path in ``path``'s folder that replaces ``path`` if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name keeps the suffix: some writers (torch.export.save) check it.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}",
                               dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private; an export is meant to be shared.
        with contextlib.suppress(OSError):
            os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o644)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


@contextlib.contextmanager
def discard_on_error(*paths: Path) -> Iterator[None]:
    """Remove ``paths`` if the block fails: a set of files that does not check out is no export."""
    try:
        yield
    except BaseException:
        for path in paths:
            path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence the exporters' warnings and log chatter; the numerical check judges them."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnxscript",
                                                    "onnx_ir", "torch._dynamo")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def first_line(exc: BaseException) -> str:
    """An exception's first non-empty line, for messages and notes."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
