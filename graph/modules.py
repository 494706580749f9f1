"""Torch modules for layers that ``torch.nn`` has no single class for.

Each class (and ``init_weights``) here is self-contained: it uses only ``math``,
``torch`` and ``nn``, because the code generator copies its source verbatim into
standalone files that students read. Keep them short and documented.
Per-sample dimensions in parameters exclude the batch dimension.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class Reshape(nn.Module):
    """Rearranges each sample into ``shape`` (the batch dimension stays first)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Permute(nn.Module):
    """Reorders each sample's dimensions; ``dims`` index one sample (0 is the first)."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = (0, *(d + 1 for d in dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.dims)


class Squeeze(nn.Module):
    """Removes dimension ``dim`` (of size 1), counted within one sample (0 is the first)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim + 1 if dim >= 0 else dim  # per-sample dim → batched dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.squeeze(self.dim)


class Unsqueeze(nn.Module):
    """Inserts a dimension of size 1 at ``dim``, counted within one sample (-1: last)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim + 1 if dim >= 0 else dim  # per-sample dim → batched dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(self.dim)


class Recurrent(nn.Module):
    """RNN / GRU / LSTM (batch first) returning the whole sequence or the last step.

    For a bidirectional layer the last step is the final hidden state of each
    direction (forward after the last time step, backward after the first).
    """

    def __init__(
        self,
        kind: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        output: str = "last",
    ) -> None:
        super().__init__()
        cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]
        self.rnn = cls(
            input_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.kind = kind
        self.output = output
        self.directions = 2 if bidirectional else 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq, state = self.rnn(x)
        if self.output == "sequence":
            return seq
        h_n = state[0] if self.kind == "lstm" else state
        if self.directions == 2:
            return torch.cat((h_n[-2], h_n[-1]), dim=1)
        return h_n[-1]


class Patchify(nn.Module):
    """Cut images (C×H×W) into non-overlapping patches: (H/p·W/p) × (C·p·p)."""

    def __init__(self, patch_size: int) -> None:
        super().__init__()
        self.patch_size = patch_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        p = self.patch_size
        x = x.reshape(n, c, h // p, p, w // p, p)
        return x.permute(0, 2, 4, 1, 3, 5).reshape(n, (h // p) * (w // p), c * p * p)


class PositionalEncoding(nn.Module):
    """Adds position information to a sequence (length × dim), fixed or learned.

    ``length`` is the longest sequence: a shorter one gets the codes of its positions.
    """

    def __init__(self, length: int, dim: int, kind: str = "sinusoidal") -> None:
        super().__init__()
        self.kind = kind
        if kind == "learned":
            self.table = nn.Parameter(torch.randn(1, length, dim) * 0.02)
        else:
            # Computed on the CPU even while the module is built on the meta device (as
            # shape inference does): arange there goes through decompositions whose
            # first use imports for seconds.
            cpu = torch.device("cpu")
            position = torch.arange(length, dtype=torch.float32, device=cpu).unsqueeze(1)
            rate = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=cpu)
                             * (-math.log(1e4) / dim))
            table = torch.zeros(1, length, dim, device=cpu)
            table[0, :, 0::2] = torch.sin(position * rate)
            table[0, :, 1::2] = torch.cos(position * rate[: dim // 2])
            self.register_buffer("table", table, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.table[:, : x.shape[1]]


class Attention(nn.Module):
    """Multi-head attention: self-attention, or cross-attention to ``key_value``.

    A causal layer hides later positions; its mask is made for each call's length, so
    sequences shorter than the ones it was built for work too.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        kdim: int | None = None,
        dropout: float = 0.0,
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(
            embed_dim, num_heads, dropout=dropout, kdim=kdim, vdim=kdim, batch_first=True
        )
        self.causal = causal

    def forward(self, query: torch.Tensor, key_value: torch.Tensor | None = None) -> torch.Tensor:
        kv = query if key_value is None else key_value
        mask = causal_mask(query) if self.causal else None
        out, _ = self.attn(query, kv, kv, attn_mask=mask, need_weights=False, is_causal=self.causal)
        return out


class CausalEncoderLayer(nn.Module):
    """A Transformer encoder layer (batch first) in which no position sees later ones."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int,
        dropout: float,
        activation: str,
        norm_first: bool,
    ) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(
            d_model,
            nhead,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            batch_first=True,
            norm_first=norm_first,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x, src_mask=causal_mask(x), is_causal=True)


class DecoderLayer(nn.Module):
    """A Transformer decoder layer (batch first), optionally causal on its input."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int,
        dropout: float,
        activation: str,
        norm_first: bool,
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.layer = nn.TransformerDecoderLayer(
            d_model,
            nhead,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            batch_first=True,
            norm_first=norm_first,
        )
        self.causal = causal

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        mask = causal_mask(x) if self.causal else None
        return self.layer(x, memory, tgt_mask=mask, tgt_is_causal=self.causal)


class PaddedEncoderLayer(nn.TransformerEncoderLayer):
    """A Transformer encoder layer (batch first) that ignores padding positions.

    ``mask`` is a PaddingMask's output: 1 for a real token, 0 for padding. No position
    attends to padding, and padding positions output zeros. A causal layer also hides
    later positions.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int,
        dropout: float,
        activation: str,
        norm_first: bool,
        causal: bool = False,
    ) -> None:
        super().__init__(
            d_model,
            nhead,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            batch_first=True,
            norm_first=norm_first,
        )
        self.causal = causal

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        padding = mask == 0
        hide = causal_mask(x) if self.causal else None
        out = super().forward(x, src_mask=hide, src_key_padding_mask=padding,
                              is_causal=self.causal)
        # a padding position may attend to nothing at all (NaN): zero it, as it is ignored
        return out.masked_fill(padding.unsqueeze(-1), 0.0)


class PaddingMask(nn.Module):
    """Token ids (length) to a mask of the same length: 1 for real tokens, 0 for padding."""

    def __init__(self, padding_idx: int = 0) -> None:
        super().__init__()
        self.padding_idx = padding_idx

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return (tokens != self.padding_idx).float()


class SequencePool(nn.Module):
    """Sequence (length × dim) to one vector: the mean over time, the first or last step.

    With a ``mask`` (1 for real tokens, 0 for padding) the mean is over the real tokens
    and "last" is the last real one, so padding does not change the result.
    """

    def __init__(self, mode: str = "mean") -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            if self.mode == "mean":
                return x.mean(dim=1)
            return x[:, 0] if self.mode == "first" else x[:, -1]
        real = (mask != 0).unsqueeze(-1)
        if self.mode == "mean":
            count = real.sum(dim=1).clamp(min=1)
            return torch.where(real, x, 0.0).sum(dim=1) / count
        if self.mode == "first":
            return x[:, 0]
        # the last real position: the largest position number among the real ones
        positions = torch.cumsum(torch.ones_like(mask), dim=1) * (mask != 0)
        last = positions.argmax(dim=1)
        return x[torch.arange(x.shape[0], device=x.device), last]


class Scale(nn.Module):
    """Multiplies every value by a fixed ``factor`` (e.g. an embedding by √d)."""

    def __init__(self, factor: float = 1.0) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor}"


class Add(nn.Module):
    """Sums its inputs element by element (a residual connection)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Multiply(nn.Module):
    """Multiplies its inputs element by element."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Concat(nn.Module):
    """Joins its inputs along ``dim``, counted within one sample (0 is the first)."""

    def __init__(self, dim: int = 0) -> None:
        super().__init__()
        self.dim = dim + 1 if dim >= 0 else dim  # per-sample dim → batched dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)


def causal_mask(x: torch.Tensor) -> torch.Tensor:
    """The mask that hides later positions of ``x`` (N × T × D) from earlier ones."""
    # built from x itself, so it fits any length and device, and torch.fx can trace it
    steps = torch.ones_like(x[0, :, 0], dtype=torch.bool)
    return (steps.unsqueeze(1) & steps.unsqueeze(0)).triu(1)


def init_weights(module: nn.Module, scheme: str, mean: float = 0.0, std: float = 0.02,
                 bound: float = 0.1) -> None:
    """Re-draw a layer's weights; biases are zeroed, "default" changes nothing.

    "xavier" (Glorot) and "kaiming" (He) re-draw matrices and kernels only; "normal"
    draws N(mean, std²) and "uniform" draws from -bound to bound, for matrices and
    kernels and for a norm layer's scale too (DCGAN draws BatchNorm's from N(1, 0.02)).
    """
    if scheme == "default":
        return
    for name, p in module.named_parameters():
        if p.dim() < 2 and "bias" in name:
            nn.init.zeros_(p)
        elif scheme == "normal":
            nn.init.normal_(p, mean, std)
        elif scheme == "uniform":
            nn.init.uniform_(p, -bound, bound)
        elif p.dim() < 2:
            continue
        elif scheme == "xavier":
            nn.init.xavier_uniform_(p)
        else:
            nn.init.kaiming_normal_(p, nonlinearity="relu")
    if isinstance(module, nn.Embedding) and module.padding_idx is not None:
        with torch.no_grad():  # the padding token's vector stays zero, as torch starts it
            module.weight[module.padding_idx].fill_(0.0)
