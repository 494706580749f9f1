"""Walk the whole catalog: every layer infers, compiles and exports, with many parameter sets.

Each layer is placed in a tiny network Input(s) → layer → Output with an input
suited to it (``CONTEXTS``; a new layer without one fails here). For its
defaults and for random valid parameter sets drawn from each ParamSpec's
bounds and choices, the inferred shape must be what torch produces, and the
compiled network must give outputs ``torch.equal`` to the plain module built
from the spec's ``ModuleCall`` with the same weights, in eval and train mode.
"""

from __future__ import annotations

import json
import math
import random
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from models import one_thread, randomise_state, run_fresh
from torch import nn

from graph import modules
from graph.builder import NetworkBuilder
from graph.catalog import LayerSpec, ParamSpec, TensorSpec, catalog
from graph.codegen import generate_code
from graph.compile import compile_network
from graph.document import Document
from graph.shapes import infer_network, module_call, param_problem

BATCH = 3


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    with one_thread():
        yield
RANDOM_SETS = 8

# Input parameters (one dict per Input node) of the contexts layers are tested in.
FEATURES = {"shape": [6]}
CHANNELS = {"shape": [3, 5]}
IMAGE = {"shape": [3, 8, 8]}
SIGNAL = {"shape": [3, 12]}
SEQUENCE = {"shape": [5, 8]}
CUBE = {"shape": [2, 3, 4]}
TOKENS = {"shape": [5], "kind": "tokens", "vocab_size": 11}
MASK = {"shape": [5]}  # a padding mask for SEQUENCE (random values: every position is real)

_ELEMENTWISE = [[FEATURES], [IMAGE]]
_IMAGES = [[IMAGE]]
CONTEXTS: dict[str, list[list[dict[str, Any]]]] = {
    "Input": [[]], "Noise": [[]], "Output": [[FEATURES], [TOKENS]],
    "Linear": [[FEATURES], [SEQUENCE], [IMAGE]], "Dropout": _ELEMENTWISE,
    "BatchNorm1d": [[FEATURES], [CHANNELS]], "LayerNorm": [[FEATURES], [SEQUENCE]],
    "Flatten": [[IMAGE], [SEQUENCE]], "Scale": _ELEMENTWISE, "Reshape": [[{"shape": [64]}], [CUBE]],
    "Permute": [[SEQUENCE], [CUBE]],
    "Squeeze": [[{"shape": [5, 1]}], [{"shape": [1, 1, 1]}]], "Unsqueeze": [[FEATURES], [SEQUENCE]],
    "PaddingMask": [[TOKENS]],
    **dict.fromkeys(("ReLU", "SiLU", "Sigmoid", "Tanh", "LeakyReLU", "GELU", "ELU"),
                    _ELEMENTWISE),
    "Softmax": [[CUBE]], "LogSoftmax": [[CUBE]],
    "Conv1d": [[SIGNAL]], "MaxPool1d": [[SIGNAL]],
    **dict.fromkeys(("Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d",
                     "AdaptiveAvgPool2d", "BatchNorm2d", "Upsample", "Patchify"), _IMAGES),
    "RNN": [[SEQUENCE]], "GRU": [[SEQUENCE]], "LSTM": [[SEQUENCE]],
    "Embedding": [[TOKENS]], "PositionalEncoding": [[SEQUENCE]],
    "MultiheadAttention": [[SEQUENCE], [SEQUENCE, {"shape": [5, 6]}],
                           [SEQUENCE, {"shape": [7, 6]}]],
    "TransformerEncoderLayer": [[SEQUENCE], [SEQUENCE, MASK]],
    "TransformerDecoderLayer": [[SEQUENCE, {"shape": [7, 8]}]],
    "SequencePool": [[SEQUENCE], [SEQUENCE, MASK]],
    "Add": [[FEATURES, FEATURES], [IMAGE, IMAGE, IMAGE]],
    "Multiply": [[FEATURES, FEATURES], [IMAGE, IMAGE, IMAGE]], "Concat": [[CUBE, CUBE]],
}

# Ranges that keep random sets small and mostly valid for the contexts above;
# each is clipped to the ParamSpec's own bounds.
INT_RANGES: dict[str, tuple[int, int]] = {
    "kernel_size": (1, 4), "stride": (0, 3), "padding": (0, 1), "dilation": (1, 2),
    "output_padding": (0, 2), "num_layers": (1, 3), "output_size": (1, 5), "dim": (-3, 2),
    "vocab_size": (1, 50),
}
INT_CHOICES: dict[str, tuple[int, ...]] = {
    "nhead": (1, 2, 4, 8), "num_heads": (1, 2), "patch_size": (1, 2, 4, 8),
}
FLOAT_RANGES: dict[str, tuple[float, float]] = {"scale_factor": (1.0, 3.0), "factor": (-3.0, 3.0)}


def _sample_ints(
    spec_id: str, p: ParamSpec, shape: tuple[int, ...], rng: random.Random
) -> tuple[int, ...]:
    if spec_id == "Permute":
        return tuple(rng.sample(range(len(shape)), len(shape)))
    if spec_id == "Reshape":  # a rearrangement of the input's values, maybe with a -1
        dims = _factorise(math.prod(shape), rng)
        if rng.random() < 0.4:
            hole = rng.randrange(len(dims))
            dims = tuple(-1 if i == hole else d for i, d in enumerate(dims))
        return dims
    return tuple(rng.randint(1, 6) for _ in range(rng.randint(p.min_length, 3)))


def _factorise(n: int, rng: random.Random) -> tuple[int, ...]:
    dims: list[int] = []
    while n > 1 and len(dims) < 4:
        d = rng.choice([k for k in range(1, n + 1) if n % k == 0])
        dims.append(d)
        n //= d
    return (*dims, n) if n > 1 or not dims else tuple(dims)


def _sample(spec_id: str, p: ParamSpec, shape: tuple[int, ...], rng: random.Random) -> Any:
    if p.kind == "bool":
        return rng.random() < 0.5
    if p.kind == "choice":
        return rng.choice(p.choices)
    if p.kind == "ints":
        return _sample_ints(spec_id, p, shape, rng)
    if p.kind == "node":  # no other node to name in a one-layer network
        return ""
    lo = p.minimum if p.minimum is not None else 0
    hi = p.maximum if p.maximum is not None else lo + 12
    if p.kind == "float":
        a, b = FLOAT_RANGES.get(p.name, (lo, hi))
        return rng.uniform(max(a, lo), min(b, hi))
    if p.name in INT_CHOICES:
        return rng.choice(INT_CHOICES[p.name])
    a, b = INT_RANGES.get(p.name, (int(lo), int(lo) + 11))
    return rng.randint(max(a, int(lo)), min(b, int(hi)))


def _network(spec: LayerSpec, params: dict[str, Any], context: list[dict[str, Any]]) -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    if spec.role == "input":
        b.add("Output", b.add(spec.id, label="subject", **params))
        return doc
    sources = [b.add("Input", label=f"in{i}", **ctx) for i, ctx in enumerate(context)]
    if spec.role == "output":
        b.add("Output", *sources, label="subject", **params)
    else:
        b.add("Output", b.add(spec.id, *sources, label="subject", **params))
    return doc


def _batch(t: TensorSpec, gen: torch.Generator) -> torch.Tensor:
    if t.dtype == "long":
        return torch.randint(0, t.vocab or 1, (BATCH, *t.shape), generator=gen)
    return torch.randn(BATCH, *t.shape, generator=gen)


def _run(module: torch.nn.Module, xs: list[torch.Tensor], train: bool) -> torch.Tensor:
    module.train(train)
    torch.manual_seed(3)  # the same dropout draws on both sides
    with torch.no_grad():
        return module(*xs)


def _check_case(spec: LayerSpec, params: dict[str, Any], context: list[dict[str, Any]]) -> bool:
    """Check one parameter set; False when the spec's own checks reject it."""
    doc = _network(spec, params, context)
    net = doc.network("main")
    shapes = infer_network(net)
    subject = net.by_label("subject")
    assert subject is not None
    ins = [shapes[src].out for _, src in net.inputs_of(subject.id)]
    full = subject.params
    problem = param_problem(spec, full) or (
        spec.check(full, ins) if spec.check and spec.role == "layer" else None)  # type: ignore[arg-type]
    if problem:
        assert shapes[subject.id].error == problem
        return False
    assert shapes[subject.id].error is None, f"check() accepted {full} but: {shapes[subject.id]}"
    gm = compile_network(doc)
    randomise_state(gm, seed=zlib.crc32(repr(full).encode()))
    gen = torch.Generator().manual_seed(1)
    xs = [_batch(shapes[i].out, gen) for i in gm.input_ids]  # type: ignore[arg-type]
    if spec.role != "layer":
        assert torch.equal(gm(*xs), xs[0])
        return True
    plain = module_call(spec, full, ins).build()  # type: ignore[arg-type]
    plain.load_state_dict(gm.subject.state_dict())
    if spec.has_weights and not full["trainable"]:
        assert not any(p.requires_grad for p in gm.parameters())
        # Frozen is part of the plain equivalent: torch picks other kernels (mkldnn
        # RNNs, the fused attention path) when no weight needs a gradient.
        plain.requires_grad_(False)
    out = shapes[subject.id].out
    assert out is not None
    for train in (False, True):
        ours, theirs = _run(gm, xs, train), _run(plain, xs, train)
        assert tuple(ours.shape) == (BATCH, *out.shape)
        assert (ours.dtype == torch.long) == (out.dtype == "long")
        assert torch.equal(ours, theirs), (full, train)
    return True


def test_every_layer_has_a_test_context() -> None:
    missing = {spec.id for spec in catalog()} - set(CONTEXTS)
    assert not missing, f"add a context for {sorted(missing)} to CONTEXTS"


@pytest.mark.parametrize("type_id", [spec.id for spec in catalog()])
def test_layer_infers_and_compiles_like_torch(type_id: str) -> None:
    spec = catalog().get(type_id)
    contexts = CONTEXTS[type_id]
    assert _check_case(spec, spec.defaults(), contexts[0]), "its defaults must be accepted"
    rng = random.Random(zlib.crc32(type_id.encode()))
    accepted = 0
    for _ in range(RANDOM_SETS):
        context = rng.choice(contexts)
        shape = tuple(context[0]["shape"]) if context else ()
        params = {p.name: _sample(type_id, p, shape, rng) for p in spec.all_params}
        accepted += _check_case(spec, params, context)
    assert accepted >= math.ceil(RANDOM_SETS / 2), f"only {accepted} sets accepted"


EXPORT_CHECK = """
import json, torch
for name in json.load(open("names.json")):
    spec = importlib.util.spec_from_file_location(name, name + ".py")
    code = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(code)
    data = torch.load(name + ".pt")
    model = getattr(code, data["class"])()
    model.load_state_dict(data["state"])
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(*data["inputs"]), data["output"]), name
    print(name)
"""


def test_every_layer_exports_standalone_code(tmp_path: Path) -> None:
    """Each layer with its defaults, generated as code, runs the same without Layerloom."""
    names = []
    for spec in catalog():
        doc = _network(spec, spec.defaults(), CONTEXTS[spec.id][0])
        gm = compile_network(doc).eval()
        randomise_state(gm)
        gen = torch.Generator().manual_seed(2)
        shapes = infer_network(doc.network("main"))
        xs = [_batch(shapes[i].out, gen) for i in gm.input_ids]  # type: ignore[arg-type]
        with torch.no_grad():
            output = gm(*xs)
        name = f"layer_{spec.id.lower()}"
        (tmp_path / f"{name}.py").write_text(generate_code(doc))
        torch.save({"class": type(gm).__name__, "state": gm.state_dict(), "inputs": xs,
                    "output": output}, tmp_path / f"{name}.pt")
        names.append(name)
    (tmp_path / "names.json").write_text(json.dumps(names))
    result = run_fresh(EXPORT_CHECK, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == names




def _recurrent_cases() -> list[tuple[dict[str, Any], Callable[..., Any]]]:
    """Recurrent against the raw RNN's own per-step outputs (an independent reading)."""
    cases = []
    for kind in ("rnn", "gru", "lstm"):
        base = {"kind": kind, "input_size": 8, "hidden_size": 4, "num_layers": 2}
        cases += [
            ({**base, "output": "sequence"}, lambda m, x: m.rnn(x)[0]),
            ({**base, "output": "last"}, lambda m, x: m.rnn(x)[0][:, -1]),
            # Forward reads to the last step; backward ends at the first.
            ({**base, "bidirectional": True},
             lambda m, x: torch.cat((m.rnn(x)[0][:, -1, :4], m.rnn(x)[0][:, 0, 4:]), dim=1)),
        ]
    return cases


def _sinusoids(length: int, dim: int) -> torch.Tensor:
    pos = torch.arange(length, dtype=torch.float64)[:, None]
    i = torch.arange(dim)[None, :]
    angle = pos / 10000 ** ((i - i % 2) / dim)
    return torch.where(i % 2 == 0, angle.sin(), angle.cos()).float()


def _mask(n: int) -> torch.Tensor:
    return nn.Transformer.generate_square_subsequent_mask(n)


def _real_first(real: int, length: int = 5) -> torch.Tensor:
    """A batch of masks whose first ``real`` positions are real, the rest padding."""
    return (torch.arange(length) < real).float().expand(BATCH, length)


def _masked_pool(mode: str, real: int) -> Callable[..., Any]:
    """SequencePool given a mask, against the plain pooling of the real positions only."""
    mask = _real_first(real)

    def plain(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
        head = x[:, :real]
        return {"mean": head.mean(dim=1), "first": head[:, 0], "last": head[:, -1]}[mode]

    return lambda m, x: (m(x, mask), plain(m, x))


def _padded_encoder(causal: bool, real: int) -> Callable[..., Any]:
    """The padded layer's real positions against torch's layer on the real positions only."""
    mask = _real_first(real)

    def plain(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
        out = nn.TransformerEncoderLayer.forward(
            m, x[:, :real], src_mask=_mask(real) if causal else None)  # type: ignore[arg-type]
        return torch.cat((out, torch.zeros(BATCH, 5 - real, 8)), dim=1)

    return lambda m, x: (m(x, mask), plain(m, x))


# For every module in graph.modules: constructor arguments, input shapes, and the
# same computation written with plain torch (given the module, for its weights).
Equivalent = tuple[dict[str, Any], list[tuple[int, ...]], Callable[..., Any]]
EQUIVALENTS: dict[str, list[Equivalent]] = {
    "Reshape": [({"shape": (2, 12)}, [(2, 3, 4)], lambda m, x: x.view(-1, 2, 12))],
    "Permute": [({"dims": (2, 0, 1)}, [(2, 3, 4)], lambda m, x: x.permute(0, 3, 1, 2))],
    "Recurrent": [(kw, [(5, 8)], f) for kw, f in _recurrent_cases()],
    "Patchify": [({"patch_size": 2}, [(3, 4, 6)],
                  lambda m, x: nn.functional.unfold(x, 2, stride=2).transpose(1, 2))],
    "PositionalEncoding": [
        ({"length": 5, "dim": 7}, [(5, 7)], lambda m, x: x + _sinusoids(5, 7)),
        ({"length": 5, "dim": 6, "kind": "learned"}, [(5, 6)], lambda m, x: x + m.table),
    ],
    "Attention": [
        ({"embed_dim": 8, "num_heads": 2}, [(5, 8)],
         lambda m, x: m.attn(x, x, x, need_weights=False)[0]),
        ({"embed_dim": 8, "num_heads": 2, "kdim": 6}, [(5, 8), (7, 6)],
         lambda m, q, kv: m.attn(q, kv, kv)[0]),
        ({"embed_dim": 8, "num_heads": 2, "causal": True}, [(5, 8)],
         lambda m, x: m.attn(x, x, x, attn_mask=_mask(5))[0]),
    ],
    "DecoderLayer": [
        ({"d_model": 8, "nhead": 2, "dim_feedforward": 16, "dropout": 0.1, "activation": "relu",
          "norm_first": nf, "causal": causal}, [(5, 8), (7, 8)],
         lambda m, x, mem, c=causal: m.layer(x, mem, tgt_mask=_mask(5) if c else None))
        for nf in (False, True) for causal in (False, True)
    ],
    "CausalEncoderLayer": [
        ({"d_model": 8, "nhead": 2, "dim_feedforward": 16, "dropout": 0.1, "activation": act,
          "norm_first": nf}, [(5, 8)],
         lambda m, x: m.layer(x, src_mask=_mask(5)))
        for nf in (False, True) for act in ("relu", "gelu")
    ],
    "SequencePool": [({"mode": "mean"}, [(5, 8)], lambda m, x: x.mean(dim=1)),
                     ({"mode": "first"}, [(5, 8)], lambda m, x: x[:, 0]),
                     ({"mode": "last"}, [(5, 8)], lambda m, x: x[:, -1]),
                     *[({"mode": mode}, [(5, 8)], _masked_pool(mode, real))
                       for mode in ("mean", "first", "last") for real in (1, 3, 5)]],
    "PaddedEncoderLayer": [
        ({"d_model": 8, "nhead": 2, "dim_feedforward": 16, "dropout": 0.1, "activation": "relu",
          "norm_first": nf, "causal": causal}, [(5, 8)], _padded_encoder(causal, real))
        for nf in (False, True) for causal in (False, True) for real in (1, 3, 5)
    ],
    "PaddingMask": [({"padding_idx": 2}, [(5,)], lambda m, x: (
        m(torch.tensor([[2, 0, 2, 5, 2]])), torch.tensor([[0.0, 1.0, 0.0, 1.0, 0.0]])))],
    "Squeeze": [({"dim": 1}, [(3, 1, 4)], lambda m, x: x.squeeze(2)),
                ({"dim": -1}, [(3, 1)], lambda m, x: x.squeeze(-1))],
    "Unsqueeze": [({"dim": 0}, [(3, 4)], lambda m, x: x.unsqueeze(1)),
                  ({"dim": 2}, [(3, 4)], lambda m, x: x.unsqueeze(3)),
                  ({"dim": -1}, [(3, 4)], lambda m, x: x.unsqueeze(-1))],
    "Scale": [({"factor": -2.5}, [(3, 4)], lambda m, x: x * -2.5)],
    "Add": [({}, [(3, 4)] * 3, lambda m, a, b, c: a + b + c)],
    "Multiply": [({}, [(3, 4)] * 3, lambda m, a, b, c: a * b * c)],
    "Concat": [({"dim": d}, [(2, 3, 4), (2, 3, 4)],
                lambda m, a, b, axis=axis: torch.cat((a, b), axis))
               for d, axis in ((0, 1), (2, 3), (-1, -1))],
}


def test_every_own_module_matches_plain_torch() -> None:
    own = {name for name, obj in vars(modules).items() if isinstance(obj, type)
           and issubclass(obj, nn.Module) and obj.__module__ == modules.__name__}
    assert own == set(EQUIVALENTS), f"add plain-torch equivalents for {own - set(EQUIVALENTS)}"
    gen = torch.Generator().manual_seed(0)
    for name, cases in EQUIVALENTS.items():
        for kwargs, shapes, plain in cases:
            module = getattr(modules, name)(**kwargs).eval()
            xs = [torch.randn(BATCH, *s, generator=gen) for s in shapes]
            with torch.no_grad():
                result = plain(module, *xs)  # a pair when the case makes its own inputs
                ours, theirs = result if isinstance(result, tuple) else (module(*xs), result)
            torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6, msg=f"{name} {kwargs}")
