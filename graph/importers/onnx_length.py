"""A language model's ONNX export reads token sequences of any length; a Layerloom
Input reads a fixed one. Importing such a file fixes the length at the maximum its
export record names, so that the sizes computed from it become constants (the
positions sliced from a table, the causal mask) and the graph reads like a fixed-length
export. The imported model still runs on shorter sequences, as the original did.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import helper, numpy_helper

# Shape nodes that become constants in turn (a size known only after an earlier one is)
MAX_ROUNDS = 8


def recorded_length(model: onnx.ModelProto) -> int | None:
    """The longest sequence a Layerloom export reads (its record's 'sequence'), or None."""
    for prop in model.metadata_props:
        if prop.key != "layerloom":
            continue
        try:
            record = json.loads(prop.value)
        except ValueError:
            return None
        sequence = record.get("sequence") if isinstance(record, dict) else None
        length = sequence.get("max_length") if isinstance(sequence, dict) else None
        axis = sequence.get("axis") if isinstance(sequence, dict) else None
        if isinstance(length, int) and not isinstance(length, bool) and length >= 1 and axis == 1:
            return length
    return None


def fix_sequence_length(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with its free sequence length (axis 1 of inputs and output) fixed at the
    recorded maximum, and the sizes that fixes turned into constants; ``model`` itself
    when it has no free length or no record of one."""
    length = recorded_length(model)
    graph = model.graph
    free = [v for v in [*graph.input, *graph.output]
            if len(v.type.tensor_type.shape.dim) > 1
            and not v.type.tensor_type.shape.dim[1].HasField("dim_value")]
    if length is None or not free:
        return model
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for value in [*fixed.graph.input, *fixed.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if len(dims) > 1 and not dims[1].HasField("dim_value"):
            dims[1].dim_value = length
    del fixed.graph.value_info[:]  # inferred again from the fixed length
    for _ in range(MAX_ROUNDS):
        if not _known_shapes_as_constants(fixed):
            break
    return fixed


def _known_shapes_as_constants(model: onnx.ModelProto) -> bool:
    """Replace each Shape node whose requested sizes inference knows by a Constant."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # inference is a help: what it cannot do stays as it was
        return False
    shapes = {}
    for info in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        ttype = info.type.tensor_type
        if ttype.HasField("shape"):
            shapes[info.name] = [d.dim_value if d.HasField("dim_value") else None
                                 for d in ttype.shape.dim]
    changed = False
    for i, node in enumerate(model.graph.node):
        if node.op_type != "Shape" or node.input[0] not in shapes:
            continue
        dims = shapes[node.input[0]]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        part = dims[attrs.get("start", 0):attrs.get("end", len(dims))]
        if any(d is None for d in part):
            continue
        value = numpy_helper.from_array(np.asarray(part, dtype=np.int64), node.output[0])
        constant = helper.make_node("Constant", [], [node.output[0]], name=node.name,
                                    value=value)
        model.graph.node[i].CopyFrom(constant)
        changed = True
    if changed:
        del model.graph.value_info[:]
    return changed
