"""Embeddings, patches, positions and attention: the Transformer's parts."""

from __future__ import annotations

from typing import Any

from graph.catalog import CATALOG, LayerSpec, ModuleCall, Params, ParamSpec, PortSpec, TensorSpec
from graph.layers._helpers import (
    all_checks,
    flag,
    fraction,
    needs_float,
    needs_rank,
    nn_call,
    own_call,
    positive,
    same_shape,
    shape_text,
)
from graph.migrations import layer_migration

CATEGORY = "Attention"

_SEQUENCES = needs_rank(2, "sequences shaped T×D", "add a Linear or Embedding to make one")


def _embedding_check(p: Params, ins: list[TensorSpec]) -> str | None:
    if ins[0].dtype != "long" or ins[0].vocab is None:
        return "expects token ids; connect an Input whose kind is 'tokens'"
    if p["padding_idx"] >= ins[0].vocab:
        return (f"has padding_idx {p['padding_idx']}, which is not a token id of its "
                f"vocabulary (0…{ins[0].vocab - 1}); set it below {ins[0].vocab}, or -1 for none")
    return None


CATALOG.register(LayerSpec(
    id="Embedding", category=CATEGORY, display_name="Embedding",
    description="Looks up a learned vector for every token id.",
    doc="The vocabulary size comes from the token Input; T ids become T×D vectors.",
    params=(positive("embedding_dim", 32, "Length of each token's vector.", maximum=1 << 14),
            ParamSpec("padding_idx", "int", -1,
                      "A token id whose vector stays zero and is never trained (-1: none).",
                      minimum=-1, maximum=1 << 20, torch_default="None")),
    build=lambda p, ins: nn_call(
        "Embedding", num_embeddings=ins[0].vocab or 1, embedding_dim=p["embedding_dim"],
        padding_idx=None if p["padding_idx"] < 0 else p["padding_idx"],
    ),
    check=_embedding_check, has_weights=True, key_params=("embedding_dim",),
    shape=lambda p, ins: (*ins[0].shape, p["embedding_dim"]),
))


def _patch_shape(p: Params, ins: list[TensorSpec]) -> tuple[int, ...]:
    c, h, w = ins[0].shape
    size = p["patch_size"]
    return ((h // size) * (w // size), c * size * size)


def _patch_check(p: Params, ins: list[TensorSpec]) -> str | None:
    size = p["patch_size"]
    if any(s % size for s in ins[0].shape[1:]):
        return f"patch size {size} does not divide the image {shape_text(ins[0].shape)} evenly"
    return None


CATALOG.register(LayerSpec(
    id="Patchify", category=CATEGORY, display_name="Patchify",
    description="Cuts an image into square patches: a sequence for a vision Transformer.",
    doc="C×H×W becomes (H/p·W/p) × (C·p·p); follow it with a Linear to embed the patches.",
    params=(positive("patch_size", 2, "Side of each square patch.", maximum=64),),
    build=lambda p, ins: own_call("Patchify", patch_size=p["patch_size"]),
    check=all_checks(needs_float, needs_rank(3, "images shaped C×H×W", "add a Reshape"),
                     _patch_check),
    key_params=("patch_size",),
    shape=_patch_shape,
))

CATALOG.register(LayerSpec(
    id="PositionalEncoding", category=CATEGORY, display_name="PositionalEncoding",
    description="Adds each position's code so attention knows the order of tokens.",
    doc=("Sinusoidal codes are fixed; learned ones are trained like weights. The table "
         "covers the incoming length, the longest context: a shorter sequence gets the "
         "codes of its first positions."),
    params=(ParamSpec("kind", "choice", "sinusoidal", "Fixed sine/cosine codes, or learned.",
                      choices=("sinusoidal", "learned")),),
    build=lambda p, ins: own_call(
        "PositionalEncoding", length=ins[0].shape[0], dim=ins[0].shape[1], kind=p["kind"]
    ),
    check=all_checks(needs_float, _SEQUENCES), key_params=("kind",), shape=same_shape,
))


def _heads_check(p: Params, ins: list[TensorSpec]) -> str | None:
    dim = ins[0].shape[-1]
    heads = p.get("num_heads", p.get("nhead"))
    if dim % heads:
        return f"has {heads} heads, which must divide the model width {dim}"
    return None


def _cross_causal_check(p: Params, ins: list[TensorSpec]) -> str | None:
    if p["causal"] and len(ins) > 1 and ins[0].shape[0] != ins[1].shape[0]:
        return (f"is causal, so query and key/value need the same length "
                f"(got {ins[0].shape[0]} and {ins[1].shape[0]})")
    return None


_MASK_PORT = PortSpec("mask", "A PaddingMask of the tokens: padding positions are ignored.",
                      optional=True)


def _first_is_sequence(p: Params, ins: list[TensorSpec]) -> str | None:
    return _SEQUENCES(p, ins[:1])


def _mask_check(p: Params, ins: list[TensorSpec]) -> str | None:
    if len(ins) > 1 and ins[1].dtype == "long":
        return ("receives token ids on 'mask': put a PaddingMask between the tokens and "
                "'mask'")
    if len(ins) > 1 and ins[1].shape != ins[0].shape[:1]:
        return (f"needs a mask with one value per position ({shape_text(ins[0].shape[:1])}) "
                f"but its mask is {shape_text(ins[1].shape)}: wire in the PaddingMask of the "
                "tokens this sequence comes from")
    return None


def _padding_mask_check(p: Params, ins: list[TensorSpec]) -> str | None:
    if ins[0].dtype != "long" or len(ins[0].shape) != 1:
        return (f"expects token ids shaped T but receives {shape_text(ins[0].shape)}"
                + ("" if ins[0].dtype == "long" else " values") + "; connect the token Input")
    return None


CATALOG.register(LayerSpec(
    id="PaddingMask", category=CATEGORY, display_name="PaddingMask",
    description="Marks which tokens are real (1) and which are padding (0).",
    doc=("Wire the token Input into it and its output into the 'mask' input of a "
         "TransformerEncoderLayer or SequencePool: they then ignore padding, so a padded "
         "sequence gives the same result whatever its padding."),
    params=(ParamSpec("padding_idx", "int", 0, "The token id that pads sequences.",
                      minimum=0, maximum=1 << 20),),
    torch_note=("no single torch.nn module: tokens != padding_idx, as a float mask (1 real, "
                "0 padding); layers turn it into PyTorch's key_padding_mask (True = padding)"),
    build=lambda p, ins: own_call("PaddingMask", padding_idx=p["padding_idx"]),
    check=_padding_mask_check, key_params=("padding_idx",), shape=same_shape,
))


CATALOG.register(LayerSpec(
    id="MultiheadAttention", category=CATEGORY, display_name="MultiheadAttention",
    description="Each position gathers information from the positions it attends to.",
    torch_note="batch_first=True (PyTorch's default is False): sequences are N×T×D",
    doc=(
        "Self-attention when only 'query' is wired; cross-attention when 'key_value' is "
        "wired too. Causal masking stops a position from seeing later ones."
    ),
    params=(
        positive("num_heads", 4, "Parallel attention heads; must divide the width.",
                 maximum=256),
        fraction("dropout", 0.0, "Dropout on the attention weights."),
        flag("causal", False, "Hide later positions (for generating sequences)."),
    ),
    inputs=(PortSpec("query", "The sequence that asks (T×D)."),
            PortSpec("key_value", "The sequence attended to; omit for self-attention.",
                     optional=True)),
    build=lambda p, ins: own_call(
        "Attention", embed_dim=ins[0].shape[-1], num_heads=p["num_heads"],
        kdim=ins[1].shape[-1] if len(ins) > 1 else None, dropout=p["dropout"],
        causal=p["causal"],
    ),
    check=all_checks(needs_float, _SEQUENCES, _heads_check, _cross_causal_check),
    shape=same_shape,
    has_weights=True, key_params=("num_heads",),
))


def _transformer_params(causal: bool) -> tuple[ParamSpec, ...]:
    return (
        positive("nhead", 4, "Attention heads; must divide the width.", maximum=256),
        positive("dim_feedforward", 128, "Width of the feed-forward block.", maximum=1 << 16,
                 torch_default="2048"),
        fraction("dropout", 0.1, "Dropout inside the layer."),
        ParamSpec("activation", "choice", "relu", "Activation of the feed-forward block.",
                  choices=("relu", "gelu")),
        flag("norm_first", True, "Pre-norm (steadier training) or post-norm (the original).",
             torch_default="False"),
        flag("causal", causal, "Hide later positions of the input sequence."),
    )


def _encoder_layer(p: Params, ins: list[TensorSpec]) -> ModuleCall:
    # a plain torch layer unless causal, so weights saved before "causal" existed still load
    kwargs = {"d_model": ins[0].shape[-1], "nhead": p["nhead"],
              "dim_feedforward": p["dim_feedforward"], "dropout": p["dropout"],
              "activation": p["activation"], "norm_first": p["norm_first"]}
    if len(ins) > 1:  # a padding mask is wired
        return own_call("PaddedEncoderLayer", causal=p["causal"], **kwargs)
    if p["causal"]:
        return own_call("CausalEncoderLayer", **kwargs)
    return nn_call("TransformerEncoderLayer", batch_first=True, **kwargs)


CATALOG.register(LayerSpec(
    id="TransformerEncoderLayer", category=CATEGORY, display_name="TransformerEncoderLayer",
    description="Self-attention plus a feed-forward block, each with a residual connection.",
    doc=("The building block of BERT and ViT (and, causal, of GPT). Input and output are "
         "T×D. A causal layer hides later positions, whatever the sequence's length."),
    torch_note="batch_first=True (PyTorch's default is False): sequences are N×T×D",
    params=_transformer_params(False),
    inputs=(PortSpec("x", "The sequence (T×D)."), _MASK_PORT),
    build=_encoder_layer,
    check=all_checks(_mask_check, needs_float, _first_is_sequence, _heads_check),
    shape=same_shape,
    has_weights=True, key_params=("nhead", "dim_feedforward"), version=2,
))


@layer_migration("TransformerEncoderLayer", 1)
def _encoder_layer_v1(params: dict[str, Any]) -> dict[str, Any]:
    """Version 1 had no "causal" parameter: its layers saw every position."""
    params.setdefault("causal", False)
    return params


def _memory_width_check(p: Params, ins: list[TensorSpec]) -> str | None:
    if len(ins) > 1 and ins[1].shape[-1] != ins[0].shape[-1]:
        return (f"needs memory as wide as its input ({ins[0].shape[-1]}) but the memory is "
                f"{shape_text(ins[1].shape)}")
    return None


CATALOG.register(LayerSpec(
    id="TransformerDecoderLayer", category=CATEGORY, display_name="TransformerDecoderLayer",
    description="Masked self-attention, attention to an encoder's memory, and feed-forward.",
    doc="The building block of sequence-to-sequence Transformers. Input and output are T×D.",
    torch_note="batch_first=True (PyTorch's default is False): sequences are N×T×D",
    params=_transformer_params(True),
    inputs=(PortSpec("x", "The target sequence (T×D)."),
            PortSpec("memory", "The encoder's output sequence (S×D).")),
    build=lambda p, ins: own_call(
        "DecoderLayer", d_model=ins[0].shape[-1], nhead=p["nhead"],
        dim_feedforward=p["dim_feedforward"], dropout=p["dropout"],
        activation=p["activation"], norm_first=p["norm_first"],
        causal=p["causal"],
    ),
    check=all_checks(needs_float, _SEQUENCES, _heads_check, _memory_width_check),
    shape=same_shape,
    has_weights=True, key_params=("nhead", "causal"),
))

CATALOG.register(LayerSpec(
    id="SequencePool", category=CATEGORY, display_name="SequencePool",
    description="Turns a sequence into one vector: the mean over time, or the first or last step.",
    doc=("Use it before the classifier head of a Transformer encoder; 'last' reads a "
         "recurrent layer's final step. With a PaddingMask wired to 'mask', the mean is over "
         "the real tokens and 'last' is the last real one."),
    params=(ParamSpec("mode", "choice", "mean",
                      "Average all positions, or take the first or the last.",
                      choices=("mean", "first", "last")),),
    inputs=(PortSpec("x", "The sequence (T×D)."), _MASK_PORT),
    build=lambda p, ins: own_call("SequencePool", mode=p["mode"]),
    check=all_checks(_mask_check, needs_float, _first_is_sequence), key_params=("mode",),
    shape=lambda p, ins: ins[0].shape[1:],
))
