"""Small shared pieces for writing layer specs."""

from __future__ import annotations

from typing import Any

from graph.catalog import CheckFn, ModuleCall, Params, ParamSpec, TensorSpec


def nn_call(name: str, **kwargs: Any) -> ModuleCall:
    """A call of ``torch.nn.<name>`` (torch is imported only now)."""
    from torch import nn

    return ModuleCall(getattr(nn, name), kwargs)


def own_call(name: str, **kwargs: Any) -> ModuleCall:
    """A call of one of Layerloom's own modules in ``graph.modules``."""
    from graph import modules

    return ModuleCall(getattr(modules, name), kwargs)


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(["N", *(str(d) for d in shape)])


def needs_rank(rank: int, what: str, hint: str) -> CheckFn:
    """A check that every input has ``rank`` dimensions per sample."""

    def check(p: Params, ins: list[TensorSpec]) -> str | None:
        for t in ins:
            if len(t.shape) != rank:
                return f"expects {what} but receives {shape_text(t.shape)}; {hint}"
        return None

    return check


def same_shape(p: Params, ins: list[TensorSpec]) -> tuple[int, ...]:
    """Shape rule of element-wise layers: the output is shaped like the input."""
    return ins[0].shape


def out_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Length of a convolution or pooling output along one dimension (as torch computes it)."""
    out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError(f"the output would be empty ({size} → {out})")
    return out


def needs_float(p: Params, ins: list[TensorSpec]) -> str | None:
    for t in ins:
        if t.dtype != "float":
            return "receives token ids; add an Embedding first to turn them into vectors"
    return None


def all_checks(*checks: CheckFn) -> CheckFn:
    def check(p: Params, ins: list[TensorSpec]) -> str | None:
        for c in checks:
            message = c(p, ins)
            if message:
                return message
        return None

    return check


def batched_dim(dim: int) -> int:
    """A per-sample dimension index as an index into the batched tensor."""
    return dim + 1 if dim >= 0 else dim


def dim_check(p: Params, ins: list[TensorSpec]) -> str | None:
    rank = len(ins[0].shape)
    if not -rank <= p["dim"] < rank:
        text = (f"dim {p['dim']} does not exist in {shape_text(ins[0].shape)} "
                f"(valid: {-rank}…{rank - 1})")
        if p["dim"] == rank:  # most likely PyTorch's numbering, which counts the batch
            text += (f"; dims count within one sample, so PyTorch's dim={rank} is dim "
                     f"{rank - 1} (or -1) here")
        return text
    return None


# the dims a layer's "dim" counts, told to a PyTorch user
PER_SAMPLE_DIMS = ("dim counts within one sample (the batch is not a dim): PyTorch's dim=1 "
                   "is dim 0 here, and negative dims mean the same in both")


def dim_param(default: int, doc: str, torch_default: str = "") -> ParamSpec:
    return ParamSpec("dim", "int", default, doc, minimum=-8, maximum=7,
                     torch_default=torch_default)


def positive(name: str, default: int, doc: str, maximum: int = 1 << 20,
             torch_default: str = "") -> ParamSpec:
    return ParamSpec(name, "int", default, doc, minimum=1, maximum=maximum,
                     torch_default=torch_default)


def fraction(name: str, default: float, doc: str) -> ParamSpec:
    return ParamSpec(name, "float", default, doc, minimum=0.0, maximum=0.99)


def flag(name: str, default: bool, doc: str, torch_default: str = "") -> ParamSpec:
    return ParamSpec(name, "bool", default, doc, torch_default=torch_default)


def norm_layer_v1(params: dict[str, Any]) -> dict[str, Any]:
    """A norm layer of version 1: its 'normal' init left the scale at 1 (now it is drawn
    from N(init_mean, init_std²)), so such a layer keeps N(1, 0)."""
    if params.get("init") == "normal":
        params.setdefault("init_mean", 1.0)
        params.setdefault("init_std", 0.0)
    return params
