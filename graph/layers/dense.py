"""Fully connected layers, regularisation, normalisation and tensor re-shaping."""

from __future__ import annotations

import math

from graph.catalog import CATALOG, LayerSpec, Params, ParamSpec, TensorSpec
from graph.layers._helpers import (
    PER_SAMPLE_DIMS,
    all_checks,
    dim_check,
    dim_param,
    flag,
    fraction,
    needs_float,
    nn_call,
    norm_layer_v1,
    own_call,
    positive,
    same_shape,
    shape_text,
)
from graph.migrations import layer_migration

CATEGORY = "Dense"


def _needs_features(p: Params, ins: list[TensorSpec]) -> str | None:
    if not ins[0].shape:
        return "receives a scalar per sample; it needs at least one feature dimension"
    return None


CATALOG.register(LayerSpec(
    id="Linear", category=CATEGORY, display_name="Linear",
    description="Fully connected layer: every output is a weighted sum of all inputs.",
    doc=(
        "y = x·Wᵀ + b over the last dimension; the input size is taken from the incoming "
        "wire. On a sequence (T×F) it is applied to every time step."
    ),
    params=(
        positive("out_features", 64, "Number of output features."),
        flag("bias", True, "Learn an additive bias."),
        ParamSpec("tie_weight_to", "node", "",
                  "Share the weight of this Embedding (a language model's output layer): "
                  "one tensor, vocabulary × width, trained or frozen as the Embedding is.",
                  node_type="Embedding"),
    ),
    build=lambda p, ins: nn_call(
        "Linear", in_features=ins[0].shape[-1], out_features=p["out_features"], bias=p["bias"]
    ),
    check=all_checks(needs_float, _needs_features),
    shape=lambda p, ins: (*ins[0].shape[:-1], p["out_features"]),
    has_weights=True, key_params=("out_features",),
))

CATALOG.register(LayerSpec(
    id="Dropout", category=CATEGORY, display_name="Dropout",
    description="Randomly zeroes a fraction of values while training, against overfitting.",
    doc="Active only in training; at evaluation it passes values through unchanged.",
    params=(fraction("p", 0.5, "Probability that a value is zeroed."),),
    build=lambda p, ins: nn_call("Dropout", p=p["p"]),
    check=needs_float, shape=same_shape, key_params=("p",),
))


def _bn1d_check(p: Params, ins: list[TensorSpec]) -> str | None:
    if len(ins[0].shape) not in (1, 2):
        return (f"expects features (C) or channels × length (C×L) but receives "
                f"{shape_text(ins[0].shape)}; use BatchNorm2d for images")
    return None


_NORM_PARAMS = (
    ParamSpec("eps", "float", 1e-5, "Added to the variance for numerical stability.",
              minimum=1e-12, maximum=1.0),
    ParamSpec("momentum", "float", 0.1, "How fast the running statistics follow each batch.",
              minimum=0.0, maximum=1.0),
)

CATALOG.register(LayerSpec(
    id="BatchNorm1d", category=CATEGORY, display_name="BatchNorm1d",
    description="Normalises each feature over the batch; speeds up and steadies training.",
    doc="Uses batch statistics while training and running averages at evaluation.",
    params=_NORM_PARAMS,
    build=lambda p, ins: nn_call(
        "BatchNorm1d", num_features=ins[0].shape[0], eps=p["eps"], momentum=p["momentum"]
    ),
    check=all_checks(needs_float, _bn1d_check), shape=same_shape, has_weights=True,
    init_mean=1.0, version=2,
))

CATALOG.register(LayerSpec(
    id="LayerNorm", category=CATEGORY, display_name="LayerNorm",
    description="Normalises the last dimension of each sample; the Transformer's norm.",
    doc="Independent of the batch, so it behaves the same in training and evaluation.",
    params=(
        ParamSpec("eps", "float", 1e-5, "Added to the variance for numerical stability.",
                  minimum=1e-12, maximum=1.0),
        flag("elementwise_affine", True, "Learn a scale and shift per feature."),
    ),
    build=lambda p, ins: nn_call(
        "LayerNorm", normalized_shape=ins[0].shape[-1], eps=p["eps"],
        elementwise_affine=p["elementwise_affine"],
    ),
    check=all_checks(needs_float, _needs_features), shape=same_shape, has_weights=True,
    init_mean=1.0, version=2,
))

for _norm in ("BatchNorm1d", "LayerNorm"):
    layer_migration(_norm, 1)(norm_layer_v1)

CATALOG.register(LayerSpec(
    id="Flatten", category=CATEGORY, display_name="Flatten",
    description="Turns each sample into one long vector (e.g. C×H×W → C·H·W).",
    doc="Put it between convolutional and Linear layers.",
    build=lambda p, ins: nn_call("Flatten"),
    shape=lambda p, ins: (math.prod(ins[0].shape),),
))


def _reshape_target(shape: tuple[int, ...], numel: int) -> tuple[int, ...] | None:
    known = math.prod(d for d in shape if d != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            return None
        return tuple(numel // known if d == -1 else d for d in shape)
    return shape if known == numel else None


def _reshape_check(p: Params, ins: list[TensorSpec]) -> str | None:
    numel = math.prod(ins[0].shape)
    if _reshape_target(p["shape"], numel) is None:
        target = "×".join(str(d) for d in p["shape"])
        return (f"cannot rearrange {shape_text(ins[0].shape)} ({numel} values per sample) "
                f"into {target}")
    return None


CATALOG.register(LayerSpec(
    id="Reshape", category=CATEGORY, display_name="Reshape",
    description="Rearranges each sample into a new shape with the same number of values.",
    doc="The shape excludes the batch; one dimension may be -1 and is then inferred.",
    params=(ParamSpec("shape", "ints", (1, 8, 8), "New shape of one sample.", minimum=1,
                      maximum=1 << 20, max_length=5, allow_minus_one=True),),
    torch_note="Tensor.reshape without the batch: shape [1, 8, 8] here is (-1, 1, 8, 8) in PyTorch",
    build=lambda p, ins: own_call("Reshape", shape=tuple(p["shape"])),
    check=_reshape_check, key_params=("shape",),
    shape=lambda p, ins: _reshape_target(p["shape"], math.prod(ins[0].shape)) or (),
))


def _permute_check(p: Params, ins: list[TensorSpec]) -> str | None:
    rank = len(ins[0].shape)
    if sorted(p["dims"]) != list(range(rank)):
        return (f"dims {list(p['dims'])} must order all of 0…{rank - 1} for its "
                f"{shape_text(ins[0].shape)} input")
    return None


CATALOG.register(LayerSpec(
    id="Permute", category=CATEGORY, display_name="Permute",
    description="Reorders the dimensions of each sample (e.g. T×F → F×T).",
    doc="Dims index one sample (the batch stays first): [1, 0] swaps the two dimensions.",
    params=(ParamSpec("dims", "ints", (1, 0), "New order of the per-sample dimensions.",
                      minimum=0, maximum=7, max_length=6),),
    torch_note="Tensor.permute without the batch: dims [1, 0] here are (0, 2, 1) in PyTorch",
    build=lambda p, ins: own_call("Permute", dims=tuple(p["dims"])),
    check=_permute_check, key_params=("dims",),
    shape=lambda p, ins: tuple(ins[0].shape[d] for d in p["dims"]),
))

CATALOG.register(LayerSpec(
    id="Scale", category=CATEGORY, display_name="Scale",
    description="Multiplies every value by a fixed number (e.g. embeddings by √d).",
    doc="Not learned; a factor of 1 passes values through unchanged.",
    params=(ParamSpec("factor", "float", 1.0, "The number every value is multiplied by.",
                      minimum=-1e6, maximum=1e6),),
    build=lambda p, ins: own_call("Scale", factor=p["factor"]),
    check=needs_float, shape=same_shape, key_params=("factor",),
))


def _squeeze_check(p: Params, ins: list[TensorSpec]) -> str | None:
    size = ins[0].shape[p["dim"]]
    if size != 1:
        return (f"can only remove a dimension of size 1, but dim {p['dim']} of "
                f"{shape_text(ins[0].shape)} has size {size}; pick the dim whose size is 1")
    return None


def _drop(shape: tuple[int, ...], dim: int) -> tuple[int, ...]:
    dims = list(shape)
    del dims[dim]
    return tuple(dims)


CATALOG.register(LayerSpec(
    id="Squeeze", category=CATEGORY, display_name="Squeeze",
    description="Removes a dimension of size 1 (e.g. T×1 → T).",
    doc="The dim counts within one sample; its size must be 1.",
    params=(dim_param(-1, "Per-sample dimension to remove; its size must be 1.",
                      torch_default="None (every dimension of size 1)"),),
    torch_note=("Tensor.squeeze(dim); a dim whose size is not 1 is an error here, where "
                "PyTorch silently leaves the tensor unchanged; " + PER_SAMPLE_DIMS),
    build=lambda p, ins: own_call("Squeeze", dim=p["dim"]),
    check=all_checks(needs_float, _needs_features, dim_check, _squeeze_check),
    key_params=("dim",), shape=lambda p, ins: _drop(ins[0].shape, p["dim"]),
))


def _unsqueeze_check(p: Params, ins: list[TensorSpec]) -> str | None:
    rank = len(ins[0].shape) + 1  # the dims of the result
    if not -rank <= p["dim"] < rank:
        return (f"dim {p['dim']} cannot be inserted into {shape_text(ins[0].shape)} "
                f"(valid: {-rank}…{rank - 1}; dims count within one sample)")
    return None


def _insert(shape: tuple[int, ...], dim: int) -> tuple[int, ...]:
    dims = list(shape)
    dims.insert(dim if dim >= 0 else len(dims) + 1 + dim, 1)
    return tuple(dims)


CATALOG.register(LayerSpec(
    id="Unsqueeze", category=CATEGORY, display_name="Unsqueeze",
    description="Inserts a dimension of size 1 (e.g. T → T×1, or H×W → 1×H×W).",
    doc="The dim counts within one sample and is the new dimension's place: -1 appends it.",
    params=(dim_param(0, "Where the new dimension goes, within one sample."),),
    torch_note="Tensor.unsqueeze(dim); " + PER_SAMPLE_DIMS,
    build=lambda p, ins: own_call("Unsqueeze", dim=p["dim"]),
    check=all_checks(needs_float, _unsqueeze_check),
    key_params=("dim",), shape=lambda p, ins: _insert(ins[0].shape, p["dim"]),
))
