"""ONNX export, checked with onnxruntime against torch at two batch sizes.

The torch.export-based exporter (``dynamo=True``) is tried first. Where it fails,
or its model disagrees with torch under onnxruntime, the older TorchScript-based
exporter (``dynamo=False``) is tried, checked the same way; the report says which
one made the file and why the first was passed over.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from runtime.export.base import (
    BATCH_AXIS,
    SEQUENCE_AXIS,
    TRACE_BATCH,
    ExportError,
    ExportReport,
    Inputs,
    Signature,
    atomic_path,
    check_failure,
    compare,
    dynamic_shapes,
    export_metadata,
    first_line,
    quiet,
)

if TYPE_CHECKING:
    import onnx


Exporter = Callable[[nn.Module, Signature], "onnx.ModelProto"]


def _export_dynamo(module: nn.Module, signature: Signature) -> onnx.ModelProto:
    """The torch.export-based exporter, with a dynamic batch dimension."""
    with quiet():
        program = torch.onnx.export(
            module, signature.sample(TRACE_BATCH), dynamo=True, verbose=False, report=False,
            input_names=signature.input_names, output_names=[signature.output.name],
            dynamic_shapes=dynamic_shapes(signature),
        )
        assert program is not None
        return program.model_proto


def _export_torchscript(module: nn.Module, signature: Signature) -> onnx.ModelProto:
    """The older TorchScript-based exporter, with a dynamic batch dimension."""
    import onnx

    names = [*signature.input_names, signature.output.name]
    buffer = io.BytesIO()
    with quiet():
        torch.onnx.export(
            # torch's annotation names only paths; this exporter writes to file objects too
            module, signature.sample(TRACE_BATCH), buffer,  # type: ignore[arg-type]
            dynamo=False,
            input_names=signature.input_names, output_names=[signature.output.name],
            dynamic_axes={name: {0: BATCH_AXIS, **({1: SEQUENCE_AXIS} if signature.max_length
                                                   else {})} for name in names},
        )
    return onnx.load_from_string(buffer.getvalue())


# The order to try them in; tests may replace entries to simulate a failing exporter.
EXPORTERS: dict[str, Exporter] = {"dynamo": _export_dynamo, "torchscript": _export_torchscript}


def add_metadata(model: onnx.ModelProto, metadata: dict[str, Any]) -> None:
    """Store the export record as ONNX ``metadata_props`` (values are JSON strings)."""
    entries = {"layerloom": json.dumps(metadata),
               "preprocessing": json.dumps(metadata["preprocessing"]),
               "class_names": json.dumps((metadata["preprocessing"] or {}).get("class_names"))}
    kept = [p for p in model.metadata_props if p.key not in entries]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in entries.items():
        model.metadata_props.add(key=key, value=value)
    model.doc_string = f"Layerloom network '{metadata['network']}'"


def onnx_runner(model: onnx.ModelProto, signature: Signature) -> Callable[[Inputs], torch.Tensor]:
    """Run ``model`` with onnxruntime on CPU, taking and returning torch tensors."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])

    def run(inputs: Inputs) -> torch.Tensor:
        feed = {name: x.numpy() for name, x in zip(signature.input_names, inputs, strict=True)}
        return torch.from_numpy(session.run([signature.output.name], feed)[0])

    return run


def export_onnx(module: nn.Module, signature: Signature, preprocessing: dict[str, Any] | None,
                out_path: Path) -> ExportReport:
    """Write ``module`` as ONNX to ``out_path``; raises ``ExportError`` if no exporter passes."""
    notes: list[str] = []
    for name, exporter in EXPORTERS.items():
        try:
            model = exporter(module, signature)
            free_length(model, signature)
            checks = compare(module, onnx_runner(model, signature), signature)
        except Exception as exc:  # any exporter or onnxruntime failure: try the next one
            notes.append(f"the {name} exporter failed ({first_line(exc)})")
            continue
        problem = check_failure(checks)
        if problem:
            notes.append(f"the {name} exporter's model was rejected: {problem}")
            continue
        add_metadata(model, export_metadata(signature, preprocessing, name))
        _save(model, out_path)
        if notes:
            notes.append(f"used the {name} exporter instead")
        return ExportReport("onnx", signature.network, [out_path], name, checks, notes)
    raise ExportError(f"network '{signature.network}' could not be exported to ONNX: "
                      + "; ".join(notes))


def free_length(model: onnx.ModelProto, signature: Signature) -> None:
    """Declare axis 1 of the inputs and output free where the model computes it from the
    input's length: torch's exporter writes the traced length for an output that an
    unrolled recurrent layer makes (an LSTM), though any length runs. The shapes it
    notes for values inside the graph (optional hints) can carry that length too, so they
    are left for onnxruntime to infer."""
    if signature.max_length is None:
        return
    del model.graph.value_info[:]
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if len(dims) > 1 and dims[1].HasField("dim_value"):
            dims[1].dim_param = SEQUENCE_AXIS


def _save(model: onnx.ModelProto, out_path: Path) -> None:
    import onnx

    with atomic_path(out_path) as tmp:
        onnx.save_model(model, str(tmp))
