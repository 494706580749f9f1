"""torch.nn modules → catalog layers.

A layer's parameters are read from its ``LayerSpec``: each one is taken from the
module's attribute of the same name unless a rule gives it (a parameter the catalog
adds later without a source here stops the import with a message, rather than
silently taking its default). What a rule cannot see — a padding mode, a ceil mode, a
projection size — the importer's comparison of every layer's output with the
original's catches.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from graph.catalog import ParamSpec, catalog
from graph.importers.fx_trace import Trace


class Unsupported(Exception):
    """A call the catalog cannot express; the message says why, without the line."""


@dataclass
class Mapped:
    """One catalog node for one traced call: its layer, parameters and data inputs."""

    type_id: str
    params: dict[str, Any]
    inputs: list[fx.Node]
    module: nn.Module | None = None  # whose state becomes the node's weights
    weights: dict[str, torch.Tensor] = field(default_factory=dict)  # or these, by key
    label: str | None = None  # instead of the call's own name
    reference: fx.Node | None = None  # the traced value it equals, if not its own call's


@dataclass
class Alias:
    """A call that passes a value on unchanged (``nn.Identity``, ``out[0]`` of an LSTM)."""

    source: fx.Node


Rule = Callable[[Trace, fx.Node, nn.Module], "Mapped | Alias"]


def read_params(type_id: str, module: nn.Module, given: dict[str, Any] | None = None
                ) -> dict[str, Any]:
    """Every parameter of ``type_id``'s spec, from ``given`` or the module's attributes."""
    given = given or {}
    params: dict[str, Any] = {}
    for p in catalog().get(type_id).all_params:
        if p.name in given:
            value = given[p.name]
        elif p.name == "init" or p.name.startswith("init_"):
            value = p.default  # the weights are imported: how they would start does not matter
        elif str(p.kind) == "node":
            value = p.default  # a link to another node: none is made unless a rule gives it
        elif p.name == "trainable":
            value = all(t.requires_grad for t in module.parameters())
        elif hasattr(module, p.name):
            value = _plain(p, getattr(module, p.name))
        else:
            raise Unsupported(f"the importer does not know where {type_id}'s parameter "
                              f"'{p.name}' comes from in {type(module).__name__}")
        params[p.name] = checked(p, value)
    return params


def checked(p: ParamSpec, value: Any) -> Any:
    """``value`` coerced to the parameter's type; Unsupported when it is out of bounds."""
    try:
        value = p.coerce(value)
    except ValueError as exc:
        raise Unsupported(f"its {p.name} cannot be expressed: {exc}") from None
    problem = p.problem(value)
    if problem:
        raise Unsupported(f"its {p.name} {problem}")
    return value


def _plain(p: ParamSpec, value: Any) -> Any:
    if p.kind == "bool" and (value is None or isinstance(value, torch.Tensor)):
        return value is not None  # bias: a tensor or None
    if p.kind == "int" and isinstance(value, tuple | list):
        if len(set(value)) != 1:
            raise Unsupported(f"its {p.name} {tuple(value)} differs between dimensions; the "
                              "catalog's layer takes one value for all")
        return value[0]
    if p.kind == "float" and isinstance(value, tuple | list) and len(set(value)) == 1:
        return float(value[0])
    return value


def per_sample_dim(dim: int | None, rank: int) -> int:
    """A batched tensor's dim as the catalog counts it (within one sample)."""
    if dim is None:
        raise Unsupported("it has no dim; give the dimension explicitly")
    if dim == 0 or dim == -rank:
        raise Unsupported("it works across the batch (dim 0), which no layer does")
    return dim - 1 if dim > 0 else dim


def causal_from_mask(mask: Any, is_causal: Any, length: int) -> bool:
    """Whether an attention mask hides exactly the later positions (False: no mask)."""
    if mask is None:
        return bool(is_causal)
    if not isinstance(mask, torch.Tensor) or tuple(mask.shape) != (length, length):
        raise Unsupported("its attention mask is not a square mask over the sequence")
    later = torch.ones(length, length, dtype=torch.bool).triu(1)
    hidden = mask if mask.dtype == torch.bool else torch.isneginf(mask)
    shown_zero = mask.dtype == torch.bool or bool((mask[~later] == 0).all())
    if bool((hidden.cpu() == later).all()) and shown_zero:
        return True
    raise Unsupported("its attention mask is not a causal mask (the catalog's layers take "
                      "none or causal)")


def _simple(type_id: str) -> Rule:
    def rule(t: Trace, node: fx.Node, m: nn.Module) -> Mapped:
        return Mapped(type_id, read_params(type_id, m), t.data_args(node)[:1], m)

    return rule


def _flatten(t: Trace, node: fx.Node, m: nn.Module) -> Mapped:
    assert isinstance(m, nn.Flatten)
    if m.start_dim == 1 and m.end_dim == -1:
        return Mapped("Flatten", {}, t.data_args(node)[:1])
    return reshape(t, node)


def reshape(t: Trace, node: fx.Node) -> Mapped:
    """Any call that rearranges each sample's values: a Reshape to the shape it gave."""
    out = t.values[node]
    if not isinstance(out, torch.Tensor) or out.shape[0] != t.batch:
        raise Unsupported("it changes the batch dimension, which no layer does")
    source = t.data_args(node)[0]
    shape = t.sample_shape(node)
    if len(shape) == 1 and len(t.sample_shape(source)) > 1:
        return Mapped("Flatten", {}, [source])
    return Mapped("Reshape", {"shape": list(shape)}, [source])


def _softmax(type_id: str) -> Rule:
    def rule(t: Trace, node: fx.Node, m: nn.Module) -> Mapped:
        source = t.data_args(node)[0]
        dim = per_sample_dim(getattr(m, "dim", None), len(t.values[source].shape))
        return Mapped(type_id, read_params(type_id, m, {"dim": dim}), [source])

    return rule


def _recurrent(t: Trace, node: fx.Node, m: nn.Module) -> Mapped:
    assert isinstance(m, nn.RNNBase)
    if not m.batch_first:
        raise Unsupported("it is not batch_first; Layerloom's sequences are N×T×F (give it "
                          "batch_first=True and feed it batch-first sequences)")
    state = t.value(node.args[1] if len(node.args) > 1 else node.kwargs.get("hx"))
    tensors = state if isinstance(state, tuple | list) else [state]
    if any(s is not None and bool(s.any()) for s in tensors):
        raise Unsupported("it starts from a non-zero hidden state; the catalog's recurrent "
                          "layers start from zeros")
    type_id = m.mode if m.mode in ("LSTM", "GRU") else "RNN"
    if type_id == "RNN" and m.nonlinearity != "tanh":
        raise Unsupported("its nonlinearity is relu; the catalog's RNN uses tanh")
    reader = final_state_read(node, m)
    params = read_params(type_id, m, {"output": "sequence" if reader is None else "last"})
    return Mapped(type_id, params, [t.data_args(node)[0]], m, reference=reader)


def _item(node: fx.Node, index: int) -> list[fx.Node]:
    return [u for u in node.users if u.target is operator.getitem and u.args[1] == index]


def final_state_read(node: fx.Node, m: nn.RNNBase) -> fx.Node | None:
    """The ``h_n[-1]`` that is all a model reads of a one-way recurrent call (``_, (h, c) =
    self.lstm(x); self.fc(h[-1])``): the catalog's 'last' output. None otherwise."""
    if m.bidirectional or any(u.users for u in _item(node, 0)):
        return None
    states = _item(node, 1)
    finals = [h for s in states for h in (_item(s, 0) if m.mode == "LSTM" else [s])]
    reads = [r for h in finals for r in _item(h, -1)]
    return reads[0] if len(reads) == 1 else None


def _arg(node: fx.Node, index: int, name: str) -> Any:
    return node.args[index] if len(node.args) > index else node.kwargs.get(name)


def _attention(t: Trace, node: fx.Node, m: nn.Module) -> Mapped:
    assert isinstance(m, nn.MultiheadAttention)
    if not m.batch_first:
        raise Unsupported("it is not batch_first; Layerloom's sequences are N×T×D")
    query, key, value = (_arg(node, i, n) for i, n in enumerate(("query", "key", "value")))
    if t.value(_arg(node, 3, "key_padding_mask")) is not None:
        raise Unsupported("it takes a key_padding_mask, which the catalog's layer does not")
    causal = causal_from_mask(t.value(_arg(node, 5, "attn_mask")), t.value(_arg(node, 7,
                              "is_causal")), t.values[query].shape[1])
    if key is query and value is query:
        inputs = [query]
    elif key is value:
        inputs = [query, key]
    else:
        raise Unsupported("its key and value are different tensors; the catalog's layer "
                          "attends to one key_value sequence")
    params = read_params("MultiheadAttention", m, {"causal": causal})
    return Mapped("MultiheadAttention", params, inputs, m)


_ACTIVATIONS = {1: "relu", 2: "gelu"}  # TransformerEncoderLayer.activation_relu_or_gelu


def _encoder_layer(t: Trace, node: fx.Node, m: nn.Module) -> Mapped:
    assert isinstance(m, nn.TransformerEncoderLayer)
    if not m.self_attn.batch_first:
        raise Unsupported("it is not batch_first; Layerloom's sequences are N×T×D")
    if t.value(_arg(node, 2, "src_key_padding_mask")) is not None:
        raise Unsupported("it takes a src_key_padding_mask, which the catalog's layer does not")
    activation = _ACTIVATIONS.get(m.activation_relu_or_gelu)
    if activation is None:
        raise Unsupported("its activation is neither relu nor gelu")
    source = t.data_args(node)[0]
    causal = causal_from_mask(t.value(_arg(node, 1, "src_mask")),
                              t.value(_arg(node, 3, "is_causal")), t.values[source].shape[1])
    params = read_params("TransformerEncoderLayer", m, {
        "nhead": m.self_attn.num_heads, "dim_feedforward": m.linear1.out_features,
        "dropout": m.dropout.p, "activation": activation, "causal": causal})
    return Mapped("TransformerEncoderLayer", params, [source], m)


def _embedding(t: Trace, node: fx.Node, m: nn.Module) -> Mapped:
    assert isinstance(m, nn.Embedding)
    given = {"padding_idx": -1 if m.padding_idx is None else m.padding_idx} \
        if any(p.name == "padding_idx" for p in catalog().get("Embedding").params) else {}
    return Mapped("Embedding", read_params("Embedding", m, given), t.data_args(node)[:1], m)


def _identity(t: Trace, node: fx.Node, m: nn.Module) -> Alias:
    return Alias(t.data_args(node)[0])


MODULE_RULES: dict[type[nn.Module], Rule] = {
    **{cls: _simple(cls.__name__) for cls in (
        nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.MaxPool1d, nn.MaxPool2d,
        nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm,
        nn.Dropout, nn.ReLU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.GELU, nn.ELU,
        nn.Upsample)},
    nn.Embedding: _embedding,
    nn.Flatten: _flatten,
    nn.Softmax: _softmax("Softmax"),
    nn.LogSoftmax: _softmax("LogSoftmax"),
    nn.RNN: _recurrent, nn.GRU: _recurrent, nn.LSTM: _recurrent,
    nn.MultiheadAttention: _attention,
    nn.TransformerEncoderLayer: _encoder_layer,
    nn.Identity: _identity,
}
"""Rules by class; a subclass that keeps its base's forward uses the base's rule."""


def module_rule(cls: type[nn.Module]) -> Rule | None:
    """The rule for modules of ``cls``; None when it has none (a subclass with its own
    forward is traced through instead)."""
    for base in cls.__mro__:
        rule = MODULE_RULES.get(base)
        if rule is not None:
            return rule if getattr(cls, "forward", None) is getattr(base, "forward", None) \
                else None
    return None


def is_leaf(module: nn.Module) -> bool:
    return module_rule(type(module)) is not None
