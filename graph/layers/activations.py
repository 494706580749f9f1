"""Element-wise non-linearities and normalised exponentials."""

from __future__ import annotations

from graph.catalog import CATALOG, LayerSpec, ModuleCall, Params, ParamSpec, TensorSpec
from graph.layers._helpers import (
    PER_SAMPLE_DIMS,
    all_checks,
    batched_dim,
    dim_check,
    dim_param,
    needs_float,
    nn_call,
    same_shape,
)

CATEGORY = "Activations"


def _plain(name: str, description: str, doc: str) -> None:
    def build(p: Params, ins: list[TensorSpec]) -> ModuleCall:
        return nn_call(name)

    CATALOG.register(
        LayerSpec(
            id=name, category=CATEGORY, display_name=name, description=description,
            doc=doc, build=build, check=needs_float, shape=same_shape,
        )
    )


_plain("ReLU", "Keeps positives and zeroes negatives, max(0, x): the default activation.",
       "Passes positives, zeroes negatives. Units stuck below zero stop learning ('dead').")
_plain("SiLU", "Smooth ReLU, x · sigmoid(x) (Swish), used in modern networks.",
       "Smooth and non-monotonic; often a little better than ReLU in deep networks.")
_plain("Sigmoid", "Squashes to (0, 1); for gates and probabilities.",
       "Saturates for large |x|, so gradients vanish in deep stacks of it.")
_plain("Tanh", "Squashes to (-1, 1); common at a generator's output.",
       "Zero-centred sigmoid; pair it with data scaled to [-1, 1].")

CATALOG.register(LayerSpec(
    id="LeakyReLU", category=CATEGORY, display_name="LeakyReLU",
    description="ReLU with a small slope for negatives, so no unit dies.",
    doc="Common in GAN discriminators (slope 0.2).",
    params=(ParamSpec("negative_slope", "float", 0.01, "Slope for x < 0.", minimum=0.0,
                      maximum=1.0),),
    build=lambda p, ins: nn_call("LeakyReLU", negative_slope=p["negative_slope"]),
    check=needs_float, shape=same_shape, key_params=("negative_slope",),
))

CATALOG.register(LayerSpec(
    id="GELU", category=CATEGORY, display_name="GELU",
    description="Gaussian-error linear unit: the Transformer default.",
    doc="x · Φ(x). The 'tanh' approximation is slightly faster.",
    params=(ParamSpec("approximate", "choice", "none", "Exact, or the tanh approximation.",
                      choices=("none", "tanh")),),
    build=lambda p, ins: nn_call("GELU", approximate=p["approximate"]),
    check=needs_float, shape=same_shape,
))

CATALOG.register(LayerSpec(
    id="ELU", category=CATEGORY, display_name="ELU",
    description="Exponential linear unit: smooth for negatives, saturating at -alpha.",
    doc="Pushes mean activations towards zero.",
    params=(ParamSpec("alpha", "float", 1.0, "Value approached for very negative x.",
                      minimum=0.0, maximum=10.0),),
    build=lambda p, ins: nn_call("ELU", alpha=p["alpha"]),
    check=needs_float, shape=same_shape,
))


def _normalised(name: str, description: str, doc: str) -> None:
    CATALOG.register(LayerSpec(
        id=name, category=CATEGORY, display_name=name, description=description, doc=doc,
        params=(dim_param(-1, "Dimension (per sample) that sums to one; -1 is the last.",
                          torch_default="none (deprecated implicit choice)"),),
        torch_note=PER_SAMPLE_DIMS,
        build=lambda p, ins: nn_call(name, dim=batched_dim(p["dim"])),
        check=all_checks(needs_float, dim_check), shape=same_shape,
    ))


_normalised("Softmax", "Turns scores into probabilities that sum to 1.",
            "Do not put it before a cross-entropy loss: the loss applies softmax itself.")
_normalised("LogSoftmax", "Log of softmax; pair it with the NLL loss.",
            "Numerically safer than log(softmax(x)).")
