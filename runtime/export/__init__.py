"""Export a trained network: ONNX, a torch.export program, Layerloom weights, or Python source.

    report = export_model(doc, "runs/1/model.safetensors", "onnx", "model.onnx")
    print(report.describe())

Every export is made on CPU, in eval mode and float32, with a dynamic batch
dimension; the written model is loaded back and compared with the PyTorch module
on random inputs at batch sizes 1 and 7 (``report.checks``: batch → max abs
difference, at most 1e-4), so a file that does not reproduce the network is
never handed over silently. Every export carries the export record (inputs,
output, and the preprocessing: normalisation constants, sample shape, class
names):

* ``onnx``: ONNX ``metadata_props`` "layerloom", "preprocessing" and "class_names"
  (JSON strings). Made by the torch.export-based exporter, or the TorchScript one
  where that fails; ``report.exporter`` says which.
* ``pt2``: ``torch.export.save`` with the record as the extra file "layerloom.json".
* ``safetensors``: one network's weights keyed ``<network>.<node id>.<param>`` (as
  a run's ``model.safetensors``) with the record in the metadata, plus a copy of
  the graph as ``.loom`` beside it, so Layerloom can evaluate it or train on.
* ``python``: ``graph.codegen``'s standalone module plus ``PREPROCESSING``,
  ``preprocess()`` and ``load()``, and its weights (node-id keys) beside it as
  ``<network>.safetensors``: ``import model; m = model.load()`` needs only torch
  and safetensors.

Weights are read only through safetensors or ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from torch import nn

from graph.compile import (
    CompileError,
    WeightsMismatch,
    compile_network,
    load_state_dict_by_id,
)
from graph.document import Document
from runtime import checkpoint as ckpt
from runtime.export.base import (
    CHECK_BATCHES,
    TOLERANCE,
    ExportError,
    ExportReport,
    pick_network,
    prepare_module,
    preprocessing_record,
    signature_of,
)
from runtime.export.files import (
    export_pt2,
    export_python,
    export_safetensors,
    read_pt2_metadata,
)
from runtime.export.onnx_export import export_onnx
from runtime.out_paths import OutputPathError, check_output_file, check_output_folder
from runtime.records import (
    NETWORK_WEIGHTS_FORMAT,
    TOKENIZER_FILE,
    TokenizerRecord,
    read_record_file,
    read_tokenizer_file,
)

__all__ = [
    "CHECK_BATCHES",
    "FORMATS",
    "SUFFIXES",
    "TOLERANCE",
    "ExportError",
    "ExportReport",
    "check_output",
    "export_model",
    "export_module",
    "load_trained",
    "read_pt2_metadata",
]

FORMATS = ("onnx", "pt2", "python", "safetensors")
SUFFIXES = {"onnx": ".onnx", "pt2": ".pt2", "python": ".py", "safetensors": ".safetensors"}

PathLike = str | os.PathLike[str]


def export_model(doc: Document, weights_path: PathLike, fmt: str, out_path: PathLike,
                 network: str | None = None) -> ExportReport:
    """Export ``network`` of ``doc`` with the trained weights in ``weights_path``.

    ``weights_path`` is a run's ``model.safetensors`` (its preprocessing record
    comes along) or ``checkpoint.pt`` (the record is read from the
    ``preprocessing.json`` beside it). Without ``network`` the only network, or
    'main', is exported. Raises ``ExportError`` with a message for the user.
    """
    _check_format(fmt)
    check_output(fmt, out_path)
    name = pick_network(doc, network)
    module, preprocessing = load_trained(doc, name, weights_path)
    return export_module(doc, name, module, preprocessing, fmt, out_path,
                         _tokenizer_of(Path(weights_path)))


def export_module(doc: Document, network: str, module: nn.Module, preprocessing: Any,
                  fmt: str, out_path: PathLike,
                  tokenizer: TokenizerRecord | None = None) -> ExportReport:
    """Export an already-loaded module compiled from ``network`` of ``doc``.

    ``preprocessing`` is a ``runtime.data.preprocess.Preprocessing``, its
    ``to_dict()`` record, or None. ``module`` itself is left as it is: a CPU,
    eval-mode copy is exported.
    """
    _check_format(fmt)
    name = pick_network(doc, network)
    signature = signature_of(doc, name)
    if tokenizer is not None:  # text models: every export says how text becomes ids
        signature = dataclasses.replace(signature, tokenizer=tokenizer.model_dump())
    record = preprocessing_record(preprocessing)
    prepared = prepare_module(module, signature)
    out = Path(out_path)
    if fmt == "onnx":
        report = export_onnx(prepared, signature, record, out)
    elif fmt == "pt2":
        report = export_pt2(prepared, signature, record, out)
    elif fmt == "safetensors":
        report = export_safetensors(doc, prepared, signature, record, out)
    else:
        report = export_python(doc, prepared, signature, record, out)
    if record is None:
        report.notes.append("no preprocessing record was given, so the export carries none")
    if signature.max_length is not None:
        report.notes.append(f"token sequences of any length up to {signature.max_length} run "
                            f"(checked at 1 and {signature.max_length})")
        if tokenizer is None:
            report.notes.append("no tokenizer came with these weights (a checkpoint.pt reads "
                                f"the {TOKENIZER_FILE} its run wrote beside it), so the export "
                                "cannot turn text into ids; export from the run's "
                                "model.safetensors to include it")
    return report


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format '{fmt}'; choose one of {', '.join(FORMATS)}")


def check_output(fmt: str, out_path: PathLike) -> None:
    """Refuse an output path that cannot be written, before any work: a folder (except
    for ``python``, which writes ``model.py`` into one), or a place files cannot be made."""
    try:
        if fmt == "python" and Path(out_path).suffix != ".py":
            check_output_folder(out_path)
        else:
            check_output_file(out_path)
    except OutputPathError as exc:
        raise ExportError(str(exc)) from None


# -- trained weights -----------------------------------------------------------------
def load_trained(doc: Document, network: str,
                 weights_path: PathLike) -> tuple[nn.Module, dict[str, Any] | None]:
    """``network`` compiled and loaded with the weights in ``weights_path``, and the
    preprocessing record saved with them (None when there is none)."""
    try:
        module = compile_network(doc, network)
    except CompileError as exc:
        raise ExportError(f"network '{network}' cannot be exported: {exc}") from None
    path = Path(weights_path)
    try:
        per_network, record = _read(path)
    except (ValueError, OSError) as exc:  # WeightsError, or a broken preprocessing record
        raise ExportError(str(exc)) from None
    if network not in per_network and module.state_dict():  # (weightless: nothing saved)
        raise ExportError(f"{path} holds no weights for network '{network}' (it has: "
                          f"{', '.join(per_network) or 'none'})")
    _load(module, per_network.get(network, {}), path, network)
    return module, record


def _tokenizer_of(path: Path) -> TokenizerRecord | None:
    """The tokenizer stored with a run's weights, or for a checkpoint the run's
    ``tokenizer.json`` beside it."""
    try:
        if path.suffix == ".pt":
            sidecar = path.with_name(TOKENIZER_FILE)
            return read_tokenizer_file(sidecar) if sidecar.exists() else None
        return ckpt.read_weights(path)[1].tokenizer
    except (ValueError, OSError) as exc:
        raise ExportError(str(exc)) from None


def _read(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Weights per network (node-id keys) and the preprocessing record of a weights file."""
    if path.suffix == ".pt":
        data = ckpt.load_checkpoint(path)
        sidecar = path.with_name("preprocessing.json")
        record = read_record_file(sidecar) if sidecar.exists() else None
        return dict(data.weights), record.to_dict() if record is not None else None
    per_network, metadata = ckpt.read_weights(path)
    if metadata.format == NETWORK_WEIGHTS_FORMAT:  # a Python export's weights file
        per_network = {metadata.network or "": {
            f"{k}.{rest}": v for k, tensors in per_network.items() for rest, v in tensors.items()}}
    record = metadata.preprocessing
    return per_network, record.to_dict() if record is not None else None


def _load(module: nn.Module, state: dict[str, Any], path: Path, network: str) -> None:
    where = f"the weights in {path} do not fit network '{network}'"
    try:
        result = load_state_dict_by_id(module, state, strict=False)
    except WeightsMismatch as exc:  # the graph changed since training
        raise ExportError(f"{where}: {exc}") from None
    if result.missing or result.unexpected:
        parts = []
        if result.missing:
            parts.append(f"missing {', '.join(sorted(result.missing)[:5])}")
        if result.unexpected:
            parts.append(f"unexpected {', '.join(sorted(result.unexpected)[:5])}")
        raise ExportError(f"{where} ({'; '.join(parts)}); were they trained on another graph?")
