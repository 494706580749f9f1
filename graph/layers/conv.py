"""Convolution, pooling, image normalisation and up-sampling."""

from __future__ import annotations

import functools
import math

from graph.catalog import CATALOG, CheckFn, LayerSpec, ModuleCall, Params, ParamSpec, TensorSpec
from graph.layers._helpers import (
    all_checks,
    flag,
    needs_float,
    needs_rank,
    nn_call,
    norm_layer_v1,
    out_size,
    positive,
    same_shape,
    shape_text,
)
from graph.migrations import layer_migration

CATEGORY = "Convolution"

_IMAGES = needs_rank(3, "images shaped C×H×W", "add a Reshape (e.g. to 1×8×8) before it")
_SIGNALS = needs_rank(2, "signals shaped C×L", "add a Reshape (e.g. to 1×L) before it")


def _kernel_fits(padding_key: str | None) -> CheckFn:
    """A check that the kernel (with dilation) fits in the padded input."""

    def check(p: Params, ins: list[TensorSpec]) -> str | None:
        spatial = ins[0].shape[1:]
        pad = p[padding_key] if padding_key else 0
        reach = p.get("dilation", 1) * (p["kernel_size"] - 1) + 1
        if any(size + 2 * pad < reach for size in spatial):
            size = "×".join(str(s) for s in spatial)
            return (f"has kernel {p['kernel_size']} but its input is only {size} "
                    f"(padding {pad}); use a smaller kernel or more padding")
        if pad * 2 > reach:
            return f"padding {pad} must be at most half the kernel size {p['kernel_size']}"
        return None

    return check


def _conv_params(kernel: int, padding: int) -> tuple[ParamSpec, ...]:
    return (
        positive("out_channels", 16, "Number of filters (output channels).", maximum=1 << 14),
        positive("kernel_size", kernel, "Width of each square filter.", maximum=64),
        positive("stride", 1, "Step between filter positions.", maximum=64),
        ParamSpec("padding", "int", padding, "Zeros added around the input.",
                  minimum=0, maximum=64, torch_default="0"),
        positive("dilation", 1, "Spacing between filter taps.", maximum=64),
        flag("bias", True, "Learn an additive bias per filter."),
    )


def _conv_shape(p: Params, ins: list[TensorSpec]) -> tuple[int, ...]:
    sizes = (out_size(s, p["kernel_size"], p["stride"], p["padding"], p["dilation"])
             for s in ins[0].shape[1:])
    return (p["out_channels"], *sizes)


def _pool_shape(p: Params, ins: list[TensorSpec]) -> tuple[int, ...]:
    stride = p["stride"] or p["kernel_size"]
    sizes = (out_size(s, p["kernel_size"], stride, p["padding"]) for s in ins[0].shape[1:])
    return (ins[0].shape[0], *sizes)


def _deconv_shape(p: Params, ins: list[TensorSpec]) -> tuple[int, ...]:
    sizes = ((s - 1) * p["stride"] - 2 * p["padding"] + p["dilation"] * (p["kernel_size"] - 1)
             + p["output_padding"] + 1 for s in ins[0].shape[1:])
    return (p["out_channels"], *sizes)


def _conv(kind: str, channels_from: TensorSpec, p: Params) -> ModuleCall:
    return nn_call(
        kind, in_channels=channels_from.shape[0], out_channels=p["out_channels"],
        kernel_size=p["kernel_size"], stride=p["stride"], padding=p["padding"],
        dilation=p["dilation"], bias=p["bias"],
    )


CATALOG.register(LayerSpec(
    id="Conv1d", category=CATEGORY, display_name="Conv1d",
    description="Slides learned filters along a signal (C×L) to find local patterns.",
    doc="Input channels come from the incoming wire. Output length: ⌊(L + 2p − d(k−1) − 1)/s⌋ + 1.",
    params=_conv_params(3, 1),
    build=lambda p, ins: _conv("Conv1d", ins[0], p),
    check=all_checks(needs_float, _SIGNALS, _kernel_fits("padding")), shape=_conv_shape,
    has_weights=True, key_params=("out_channels", "kernel_size"),
))

CATALOG.register(LayerSpec(
    id="Conv2d", category=CATEGORY, display_name="Conv2d",
    description="Slides learned filters over an image (C×H×W) to find local patterns.",
    doc="Input channels come from the incoming wire; padding k//2 with stride 1 keeps the size.",
    params=_conv_params(3, 1),
    build=lambda p, ins: _conv("Conv2d", ins[0], p),
    check=all_checks(needs_float, _IMAGES, _kernel_fits("padding")), shape=_conv_shape,
    has_weights=True, key_params=("out_channels", "kernel_size"),
))


def _deconv_check(p: Params, ins: list[TensorSpec]) -> str | None:
    if p["output_padding"] >= max(p["stride"], p["dilation"]):
        return (f"output_padding {p['output_padding']} must be smaller than the stride "
                f"{p['stride']} or the dilation")
    size = [(s - 1) * p["stride"] - 2 * p["padding"] + p["dilation"] * (p["kernel_size"] - 1)
            + p["output_padding"] + 1 for s in ins[0].shape[1:]]
    if min(size) < 1:
        return f"would produce an empty output from {shape_text(ins[0].shape)}; reduce padding"
    return None


CATALOG.register(LayerSpec(
    id="ConvTranspose2d", category=CATEGORY, display_name="ConvTranspose2d",
    description="Learned up-sampling: the transpose of a convolution (generators, decoders).",
    doc="With kernel 4, stride 2, padding 1 it doubles height and width.",
    params=(
        positive("out_channels", 16, "Number of output channels.", maximum=1 << 14),
        positive("kernel_size", 4, "Width of each square filter.", maximum=64),
        positive("stride", 2, "Up-sampling factor.", maximum=64, torch_default="1"),
        ParamSpec("padding", "int", 1, "Trims this much from each border of the output.",
                  minimum=0, maximum=64, torch_default="0"),
        ParamSpec("output_padding", "int", 0, "Extra size added on one side of the output.",
                  minimum=0, maximum=63),
        positive("dilation", 1, "Spacing between filter taps.", maximum=64),
        flag("bias", True, "Learn an additive bias per channel."),
    ),
    build=lambda p, ins: nn_call(
        "ConvTranspose2d", in_channels=ins[0].shape[0], out_channels=p["out_channels"],
        kernel_size=p["kernel_size"], stride=p["stride"], padding=p["padding"],
        output_padding=p["output_padding"], dilation=p["dilation"], bias=p["bias"],
    ),
    check=all_checks(needs_float, _IMAGES, _deconv_check), shape=_deconv_shape,
    has_weights=True, key_params=("out_channels", "kernel_size", "stride"),
))


def _pool_params() -> tuple[ParamSpec, ...]:
    return (
        positive("kernel_size", 2, "Size of each pooling window.", maximum=64),
        ParamSpec("stride", "int", 0, "Step between windows; 0 means the kernel size.",
                  minimum=0, maximum=64),
        ParamSpec("padding", "int", 0, "Padding added around the input.", minimum=0,
                  maximum=32),
    )


def _pool(kind: str, p: Params, ins: list[TensorSpec]) -> ModuleCall:
    return nn_call(kind, kernel_size=p["kernel_size"], stride=p["stride"] or p["kernel_size"],
                   padding=p["padding"])


for _kind, _rank_check, _what in (
    ("MaxPool1d", _SIGNALS, "signal"),
    ("MaxPool2d", _IMAGES, "image"),
    ("AvgPool2d", _IMAGES, "image"),
):
    _op = "largest" if _kind.startswith("Max") else "average"
    CATALOG.register(LayerSpec(
        id=_kind, category=CATEGORY, display_name=_kind,
        description=f"Keeps the {_op} value of each window, shrinking the {_what}.",
        doc="With kernel 2 and stride 2 it halves each spatial size.",
        params=_pool_params(),
        build=functools.partial(_pool, _kind),
        check=all_checks(needs_float, _rank_check, _kernel_fits("padding")),
        shape=_pool_shape,
        key_params=("kernel_size",),
    ))

CATALOG.register(LayerSpec(
    id="AdaptiveAvgPool2d", category=CATEGORY, display_name="AdaptiveAvgPool2d",
    description="Averages each channel down to a fixed size, whatever the input size.",
    doc="Output size 1 gives global average pooling: one value per channel.",
    params=(positive("output_size", 1, "Height and width of the output.", maximum=256),),
    build=lambda p, ins: nn_call("AdaptiveAvgPool2d", output_size=p["output_size"]),
    check=all_checks(needs_float, _IMAGES), key_params=("output_size",),
    shape=lambda p, ins: (ins[0].shape[0], p["output_size"], p["output_size"]),
))

CATALOG.register(LayerSpec(
    id="BatchNorm2d", category=CATEGORY, display_name="BatchNorm2d",
    description="Normalises each channel over the batch and image; steadies CNN training.",
    doc="Put it after a convolution and before the activation.",
    params=(
        ParamSpec("eps", "float", 1e-5, "Added to the variance for numerical stability.",
                  minimum=1e-12, maximum=1.0),
        ParamSpec("momentum", "float", 0.1, "How fast the running statistics follow.",
                  minimum=0.0, maximum=1.0),
    ),
    build=lambda p, ins: nn_call(
        "BatchNorm2d", num_features=ins[0].shape[0], eps=p["eps"], momentum=p["momentum"]
    ),
    check=all_checks(needs_float, _IMAGES), shape=same_shape, has_weights=True,
    init_mean=1.0, version=2,
))
layer_migration("BatchNorm2d", 1)(norm_layer_v1)

CATALOG.register(LayerSpec(
    id="Upsample", category=CATEGORY, display_name="Upsample",
    description="Enlarges an image by a factor, copying or interpolating pixels.",
    doc="A fixed (not learned) alternative to ConvTranspose2d; follow it with a Conv2d.",
    params=(
        ParamSpec("scale_factor", "float", 2.0, "How many times larger.", minimum=1.0,
                  maximum=16.0),
        ParamSpec("mode", "choice", "nearest", "How new pixels are filled.",
                  choices=("nearest", "bilinear")),
    ),
    build=lambda p, ins: nn_call("Upsample", scale_factor=p["scale_factor"], mode=p["mode"]),
    check=all_checks(needs_float, _IMAGES), key_params=("scale_factor",),
    # torch: floor(size × factor), computed in double precision
    shape=lambda p, ins: (ins[0].shape[0],
                          *(math.floor(s * p["scale_factor"]) for s in ins[0].shape[1:])),
))
