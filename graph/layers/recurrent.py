"""Recurrent layers over sequences shaped T×F."""

from __future__ import annotations

import functools

from graph.catalog import CATALOG, LayerSpec, ModuleCall, Params, ParamSpec, TensorSpec
from graph.layers._helpers import (
    all_checks,
    flag,
    fraction,
    needs_float,
    needs_rank,
    own_call,
    positive,
)

CATEGORY = "Recurrent"

_SEQUENCES = needs_rank(
    2, "sequences shaped T×F", "add a Reshape or Permute to make time the first dimension"
)

_DESCRIPTIONS = {
    "RNN": ("Simple recurrent layer: a hidden state updated at every time step.",
            "h_t = tanh(W·x_t + U·h_{t-1}). Struggles with long-range memory; see GRU/LSTM."),
    "GRU": ("Gated recurrent unit: learns what to keep and forget over time.",
            "Fewer weights than an LSTM, often as good."),
    "LSTM": ("Long short-term memory: gated cell state for long-range patterns.",
             "A cell state with input, forget and output gates carries information far."),
}

def _recurrent(kind: str, p: Params, ins: list[TensorSpec]) -> ModuleCall:
    return own_call(
        "Recurrent", kind=kind.lower(), input_size=ins[0].shape[-1],
        hidden_size=p["hidden_size"], num_layers=p["num_layers"],
        bidirectional=p["bidirectional"], dropout=p["dropout"], output=p["output"],
    )


def _recurrent_shape(p: Params, ins: list[TensorSpec]) -> tuple[int, ...]:
    width = p["hidden_size"] * (2 if p["bidirectional"] else 1)
    return (ins[0].shape[0], width) if p["output"] == "sequence" else (width,)


for _kind, (_description, _doc) in _DESCRIPTIONS.items():
    CATALOG.register(LayerSpec(
        id=_kind, category=CATEGORY, display_name=_kind, description=_description,
        doc=_doc + " Output 'last' is the final hidden state (both directions if bidirectional);"
                   " 'sequence' returns every time step.",
        params=(
            positive("hidden_size", 64, "Size of the hidden state.", maximum=1 << 14),
            positive("num_layers", 1, "Recurrent layers stacked on each other.", maximum=16),
            flag("bidirectional", False, "Also read the sequence backwards; doubles the output."),
            fraction("dropout", 0.0, "Dropout between stacked layers (needs num_layers > 1)."),
            ParamSpec("output", "choice", "last", "The final state, or every time step.",
                      choices=("last", "sequence"),
                      torch_default="both: (every step, final state)"),
        ),
        torch_note="batch_first=True (PyTorch's default is False): sequences are N×T×F",
        build=functools.partial(_recurrent, _kind),
        check=all_checks(needs_float, _SEQUENCES),
        shape=_recurrent_shape,
        has_weights=True, key_params=("hidden_size", "output"),
    ))
