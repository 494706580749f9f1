"""Layers that combine several inputs: residual sums, gates and concatenation."""

from __future__ import annotations

from graph.catalog import CATALOG, LayerSpec, Params, PortSpec, TensorSpec
from graph.layers._helpers import (
    PER_SAMPLE_DIMS,
    all_checks,
    dim_param,
    needs_float,
    own_call,
    same_shape,
    shape_text,
)

CATEGORY = "Merge"

_MANY = (PortSpec("in", "Tensors to combine, in order.", variadic=True, min_count=2),)


def _same_shapes(p: Params, ins: list[TensorSpec]) -> str | None:
    shapes = {t.shape for t in ins}
    if len(shapes) > 1:
        listed = ", ".join(shape_text(t.shape) for t in ins)
        return f"needs inputs of one shape but receives {listed}"
    return None


def _concat_check(p: Params, ins: list[TensorSpec]) -> str | None:
    ranks = {len(t.shape) for t in ins}
    if len(ranks) > 1:
        return "needs inputs with the same number of dimensions"
    rank = ranks.pop()
    dim = p["dim"]
    if not -rank <= dim < rank:
        return f"dim {dim} does not exist in {shape_text(ins[0].shape)}"
    axis = dim % rank
    rest = {t.shape[:axis] + t.shape[axis + 1 :] for t in ins}
    if len(rest) > 1:
        listed = ", ".join(shape_text(t.shape) for t in ins)
        return f"needs inputs that differ only in dim {dim} but receives {listed}"
    return None


def _concat_shape(p: Params, ins: list[TensorSpec]) -> tuple[int, ...]:
    axis = p["dim"] % len(ins[0].shape)
    shape = list(ins[0].shape)
    shape[axis] = sum(t.shape[axis] for t in ins)
    return tuple(shape)


CATALOG.register(LayerSpec(
    id="Add", category=CATEGORY, display_name="Add",
    description="Sums its inputs element by element: the residual (skip) connection.",
    doc="All inputs must have the same shape.",
    inputs=_MANY, build=lambda p, ins: own_call("Add"),
    check=all_checks(needs_float, _same_shapes), shape=same_shape,
))

CATALOG.register(LayerSpec(
    id="Multiply", category=CATEGORY, display_name="Multiply",
    description="Multiplies its inputs element by element, e.g. to gate one by another.",
    doc="All inputs must have the same shape.",
    inputs=_MANY, build=lambda p, ins: own_call("Multiply"),
    check=all_checks(needs_float, _same_shapes), shape=same_shape,
))

CATALOG.register(LayerSpec(
    id="Concat", category=CATEGORY, display_name="Concat",
    description="Joins its inputs along one dimension (e.g. stacks channels).",
    doc="The dim counts within one sample: 0 is channels for images, -1 the last dimension.",
    params=(dim_param(0, "Per-sample dimension to join along."),),
    torch_note="torch.cat; " + PER_SAMPLE_DIMS,
    inputs=_MANY, build=lambda p, ins: own_call("Concat", dim=p["dim"]),
    check=all_checks(needs_float, _concat_check), key_params=("dim",), shape=_concat_shape,
))
