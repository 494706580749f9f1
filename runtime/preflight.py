"""Checks before a run starts: the data fits the Output, and the run fits in memory.

``validate`` (command line and editor) reports these as diagnostics; the trainer
raises ``RunRefused`` instead, before it compiles anything, so a run that cannot
work stops in a second with a message naming the node, not minutes later inside
the loss or an allocation.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from graph.datafit import DataFacts, output_fit
from graph.document import Document
from graph.memory import MemoryEstimate, estimate_memory, format_bytes
from graph.shapes import ShapeInference
from graph.training import TrainingSpec
from graph.validate import TRAINING, Diagnostic
from runtime.data import DataError, Dataset, fit_to_task, get_dataset_info, load_dataset

WARN_SHARE = 0.5  # warn when a run needs more than this share of the memory available
_CACHE_SIZE = 8
_SAMPLED = ("generated", "sequence")  # data sets made from their options, not read
_DESCRIBE_SAMPLES = 64


class RunRefused(ValueError):
    """A run that cannot work; the message names the node (``node_id``) to change."""

    def __init__(self, message: str, node_id: str | None = None,
                 network: str | None = None) -> None:
        super().__init__(message)
        self.node_id = node_id
        self.network = network


# -- the data -----------------------------------------------------------------
class TaskMismatch(DataError):
    """The data set's targets do not suit the task (class targets for regression, …)."""


def data_problem(exc: Exception) -> Diagnostic:
    """How validation tells that the data could not be described: a task the targets do
    not suit is an error (training stops at it); a data set that cannot be loaded here is
    a warning (the file may only exist where the network is trained)."""
    if isinstance(exc, TaskMismatch):
        return Diagnostic(TRAINING, None, "error", f"the task does not fit the data: {exc}")
    text = str(exc) if isinstance(exc, DataError) else f"unexpected {type(exc).__name__}: {exc}"
    return Diagnostic(TRAINING, None, "warning",
                      f"the data cannot be checked against the network: {text}")


def facts_of(dataset: Dataset) -> DataFacts:
    """What the Output is checked against, from a data set fitted to its task."""
    target_shape: tuple[int, ...] = ()
    if dataset.y is not None and dataset.target_kind != "class":
        target_shape = tuple(int(d) for d in dataset.y.shape[1:])
    names = tuple(dataset.class_names[:5]) if dataset.class_names else ()
    return DataFacts(dataset.name, len(dataset), dataset.sample_shape, dataset.target_kind,
                     target_shape, dataset.num_classes, names, dataset.vocab_size)


_facts: OrderedDict[tuple[Any, ...], DataFacts] = OrderedDict()
_facts_lock = threading.Lock()


def describe_data(training: TrainingSpec, base_dir: Path | None = None) -> DataFacts:
    """The facts of the training section's data set (loaded once per content: cached by
    name, options, task and the files' size and time); a ``DataError`` when it cannot load,
    a ``TaskMismatch`` when its targets do not suit the task."""
    spec = training.data
    info = get_dataset_info(spec.name)
    resolved = info.resolve(spec.options, base_dir)
    stamps = tuple(_stamp(resolved[o.name]) for o in info.options if o.type == "path")
    key = (spec.name, json.dumps(resolved, sort_keys=True, default=str), training.task, stamps)
    with _facts_lock:
        if key in _facts:
            _facts.move_to_end(key)
            return _facts[key]
    options, samples = dict(spec.options), None
    if info.category in _SAMPLED and "n_samples" in resolved:
        # A made-up set's shapes and classes follow from its options, not its size: a
        # million sine windows need not be generated to be described.
        samples = resolved["n_samples"]
        options["n_samples"] = min(samples, _DESCRIBE_SAMPLES)
    dataset = load_dataset(spec.name, options, base_dir)
    try:
        dataset = fit_to_task(dataset, training.task)
    except DataError as exc:
        raise TaskMismatch(str(exc)) from None
    facts = facts_of(dataset)
    if samples is not None:
        facts = dataclasses.replace(facts, samples=samples)
    with _facts_lock:
        _facts[key] = facts
        while len(_facts) > _CACHE_SIZE:
            _facts.popitem(last=False)
    return facts


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def check_output(doc: Document, facts: DataFacts, training: TrainingSpec | None = None) -> None:
    """Raise ``RunRefused`` when a trained network's Output does not fit the data's targets."""
    from graph.shapes import infer_network

    training = training or doc.training
    for name in training.networks:
        net = doc.networks.get(name)
        output = next((n for n in net.nodes() if n.spec.role == "output"), None) if net else None
        if net is None or output is None:
            continue
        shape = infer_network(net).get(output.id)
        for node, severity, message in output_fit(net, shape.out if shape else None,
                                                  training, facts):
            if severity == "error":
                raise RunRefused(message, node, name)


# -- memory ---------------------------------------------------------------------
def available_memory(device: str) -> tuple[int, str] | None:
    """Free bytes on ``device`` ("cpu", "cuda", "cuda:1", "mps") and how to call it; None
    when unknown."""
    kind = device.split(":")[0]
    if kind == "cpu":
        free = _free_ram()
        return (free, "the computer has") if free is not None else None
    import torch

    if kind == "cuda" and torch.cuda.is_available():
        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free), f"the GPU ({device}) has"
    if kind == "mps" and torch.backends.mps.is_available():
        limit = torch.mps.recommended_max_memory() - torch.mps.current_allocated_memory()
        return int(limit), "the Apple GPU has"
    return None


def _free_ram() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def memory_finding(estimate: MemoryEstimate, available: tuple[int, str]
                   ) -> Diagnostic | None:
    """An error when the run needs more than is free, a warning above half of it."""
    free, holder = available
    need = estimate.total
    if need <= free * WARN_SHARE:
        return None
    largest = estimate.largest
    network, node = (largest.network, largest.node) if largest else (TRAINING, None)
    advice = f"lower the batch size ({estimate.configured_batch})"
    if largest is not None:
        advice = (f"make {largest.title} smaller ({largest.values:,} values per sample, "
                  f"{largest.params:,} weights) or {advice}")
    if need > free:
        return Diagnostic(network, node, "error",
                          f"training needs {estimate.describe()}, but {holder} only "
                          f"{format_bytes(free)} free: {advice}")
    return Diagnostic(network, node, "warning",
                      f"training needs {estimate.describe()}, more than half of the "
                      f"{format_bytes(free)} {holder} free: {advice}")


def planned_device(training: TrainingSpec) -> str | None:
    """The device a run would use ("auto" resolved); None when it cannot be had."""
    from runtime.device import pick_device

    try:
        return str(pick_device(training.device, training.precision).device)
    except RuntimeError:
        return None  # the run itself says why


def check_memory(doc: Document, facts: DataFacts | None, device: str) -> str | None:
    """Raise ``RunRefused`` when the run cannot fit in ``device``'s free memory (the data
    is on the device already, so the free memory counts it out); the warning when it
    needs more than half of it."""
    available = available_memory(device)
    if available is None:
        return None
    estimate = dataclasses.replace(estimate_memory(doc, data=facts), data=0)
    found = memory_finding(estimate, available)
    if found is not None and found.is_error:
        raise RunRefused(found.message, found.node, found.network or None)
    return found.message if found is not None else None


# -- everything, as diagnostics ---------------------------------------------------
def check_memory_diagnostics(doc: Document, shapes: ShapeInference | None,
                             facts: DataFacts | None, gpu: bool = True) -> list[Diagnostic]:
    """The memory check as a diagnostic, on the device a run would use; ``gpu=False``
    checks only runs on the CPU (asking a GPU starts CUDA in this process)."""
    device = planned_device(doc.training)
    if device is None or (not gpu and device != "cpu"):
        return []
    available = available_memory(device)
    if available is None:
        return []
    finding = memory_finding(estimate_memory(doc, shapes, facts), available)
    return [finding] if finding is not None else []


def check_document(doc: Document, base_dir: Path | None = None,
                   shapes: ShapeInference | None = None,
                   sample_shape: tuple[int, ...] | None = None) -> list[Diagnostic]:
    """``validate`` plus the checks that need the data set and the device."""
    from graph.validate import validate  # looked up now: tests replace it

    shapes = shapes or ShapeInference(doc)
    facts: DataFacts | None = None
    extra: list[Diagnostic] = []
    try:
        facts = describe_data(doc.training, base_dir)
    except DataError as exc:
        extra.append(data_problem(exc))
    found = validate(doc, shapes, sample_shape=sample_shape, data=facts)
    if not any(d.is_error for d in found):  # a broken network's estimate means little
        extra += check_memory_diagnostics(doc, shapes, facts)
    return found + extra
