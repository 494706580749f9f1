"""Importing published PyTorch models (``import_fixtures``) with graph.import_module.

Each model must come back as a network that gives the same outputs with the imported
weights, has the same parameter count, survives save → load → compile → generated
code, and imports again from its generated code as the same graph.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import torch
import torch.nn.functional as F
from import_fixtures import FIXTURES
from models import one_thread
from torch import nn

import graph
from graph.codegen import generate_code
from graph.compile import compile_network, load_state_dict_by_id
from graph.document import Document, natural_key
from graph.fileformat import load_graph, save_graph
from graph.importers import ImportedModel, ModelImportError, import_module
from graph.summary import summarize


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    with one_thread():
        yield


def _model(name: str) -> tuple[nn.Module, torch.Tensor]:
    factory, example = FIXTURES[name]
    torch.manual_seed(0)
    model = factory()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # weights and norm statistics away from their initial values
        for key, tensor in model.state_dict(keep_vars=True).items():
            if isinstance(tensor, nn.Parameter) or "running_" in key:
                noise = torch.rand(tensor.shape, generator=gen)
                tensor.copy_(noise + 0.5 if key.endswith("running_var") else noise - 0.5)
    return model.eval(), example()


def _compiled(doc: Document, weights: dict[str, torch.Tensor]) -> nn.Module:
    module = compile_network(doc, "main").eval()
    load_state_dict_by_id(module, weights)
    return module


def _structure(doc: Document) -> list[tuple[str, dict[str, Any], list[tuple[str, int]]]]:
    """The graph without labels or positions: layers in run order, params, wiring."""
    net = doc.network("main")
    order = list(nx.lexicographical_topological_sort(net.graph, key=natural_key))
    index = {node_id: i for i, node_id in enumerate(order)}
    return [(net.node(i).spec.id, net.node(i).params,
             sorted((port, index[src]) for port, src in net.inputs_of(i))) for i in order]


def _generated(doc: Document, weights: dict[str, torch.Tensor]) -> nn.Module:
    """The network as the class its generated code defines, with the imported weights."""
    namespace: dict[str, Any] = {}
    exec(compile(generate_code(doc, "main", class_name="Imported"), "<generated>", "exec"),
         namespace)
    model: nn.Module = namespace["Imported"]()
    state = {f"{namespace['NODE_ATTRIBUTES'][k.partition('.')[0]]}.{k.partition('.')[2]}": v
             for k, v in weights.items()}
    result = model.load_state_dict(state, strict=False)
    assert not result.unexpected_keys
    shared = {k for k, v in model.state_dict(keep_vars=True).items()
              if any(v is w for j, w in model.state_dict(keep_vars=True).items() if j != k)}
    assert set(result.missing_keys) <= shared  # a tied weight is loaded through its owner
    return model.eval()


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_published_model_imports_exactly(name: str, tmp_path: Path) -> None:
    model, x = _model(name)
    result = import_module(model, x)
    assert isinstance(result, ImportedModel) and result.network == "main"
    with torch.no_grad():
        expected = model(x)
        fresh = torch.randn_like(x) if x.is_floating_point() else (x + 1) % x.max()
        assert torch.allclose(_compiled(result.document, result.weights)(x), expected,
                              rtol=0, atol=1e-5)
        assert torch.allclose(_compiled(result.document, result.weights)(fresh), model(fresh),
                              rtol=0, atol=1e-5)
    rows = summarize(result.document, "main")
    assert sum(r.params for r in rows) == sum(p.numel() for p in model.parameters())

    path = tmp_path / f"{name}.loom"  # save → load → compile → generated code
    save_graph(result.document, path)
    loaded = load_graph(path)
    generated = _generated(loaded, result.weights)
    with torch.no_grad():
        assert torch.allclose(generated(x), expected, rtol=0, atol=1e-5)

    again = import_module(generated, x)  # import → export code → import
    assert _structure(again.document) == _structure(result.document)


def test_labels_come_from_attribute_names() -> None:
    model, x = _model("resnet")
    net = import_module(model, x).document.network("main")
    labels = {n.label for n in net.nodes()}
    assert {"conv1", "layer1.0.conv1", "layer2.0.downsample.0", "fc", "x", "output"} <= labels
    # the block's ReLU runs twice: two nodes, two names
    assert {"layer1.0.relu", "layer1.0.relu_2"} <= labels
    model, x = _model("vit")
    labels = {n.label for n in import_module(model, x).document.network("main").nodes()}
    assert {"encoder.layers.0", "encoder.layers.1"} <= labels


def test_torch_defaults_are_set_explicitly() -> None:
    """Conv2d's padding and the encoder layer's norm_first differ from torch.nn's
    defaults in the catalog: the import writes what the module has."""
    model, x = _model("lenet")
    net = import_module(model, x).document.network("main")
    assert net.by_label("conv1").params["padding"] == 0  # type: ignore[union-attr]
    model, x = _model("transformer_lm")
    net = import_module(model, x).document.network("main")
    layer = net.by_label("transformer_encoder.layers.0")
    assert layer is not None
    assert layer.params["norm_first"] is False and layer.params["causal"] is True
    assert net.by_label("pe").params["kind"] == "sinusoidal"  # type: ignore[union-attr]


class _Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.conv = nn.Conv3d(1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.einsum("bi,bj->bij", x, x).sum(dim=2)
        h = self.fc(h)
        return torch.cumsum(h, dim=1) + F.relu(x)


def _line(fragment: str) -> int:
    lines, start = inspect.getsourcelines(_Unsupported)
    return start + next(i for i, line in enumerate(lines) if fragment in line)


def test_each_unsupported_call_is_named_with_its_line() -> None:
    with pytest.raises(ModelImportError) as caught:
        import_module(_Unsupported(), torch.randn(2, 4))
    messages = str(caught.value).splitlines()
    assert messages == [
        f"line {_line('einsum')}: torch.einsum has no layer in the catalog",
        f"line {_line('einsum')}: Tensor.sum() has no layer in the catalog",
        f"line {_line('cumsum')}: torch.cumsum has no layer in the catalog",
    ]


class _SequenceFirst(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return out[:, -1]


class _Reflect(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def test_a_setting_the_catalog_lacks_is_refused_by_name() -> None:
    with pytest.raises(ModelImportError, match=r"nn\.LSTM 'lstm': it is not batch_first"):
        import_module(_SequenceFirst(), torch.randn(2, 5, 4))
    # nothing in the spec reads padding_mode: the output check finds the difference
    with pytest.raises(ModelImportError, match=r"nn\.Conv2d 'conv': the catalog's layer "
                                               r"computes something else here"):
        import_module(_Reflect(), torch.randn(2, 1, 6, 6))


def test_import_module_is_exported_lazily() -> None:
    assert graph.import_module is import_module
    assert {"import_module", "import_onnx"} <= set(graph.__all__)


class _Widened(nn.Linear):
    """A subclass that only adds a constructor: still a Linear."""

    def __init__(self, width: int) -> None:
        super().__init__(width, 2 * width)


class _Doubled(nn.Linear):
    """A subclass with its own forward: traced through (F.linear with its own weights)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2.0 * super().forward(x)


class _Reshaped(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc(x.contiguous().float().unsqueeze(1))  # N×1×6 → N×1×4
        return h.squeeze(1).to(x.device)


def test_calls_that_only_reshape_or_pass_values_on() -> None:
    model, x = _Reshaped().eval(), torch.randn(2, 6)
    result = import_module(model, x)
    types = [n.spec.id for n in result.document.network("main").nodes()]
    assert types == ["Input", "Reshape", "Linear", "Flatten", "Output"]  # N×1×4 → N×4
    with torch.no_grad():
        assert torch.allclose(_compiled(result.document, result.weights)(x), model(x))


def test_subclasses_of_catalog_modules() -> None:
    widened = import_module(nn.Sequential(_Widened(3)), torch.randn(2, 3))
    assert sorted(n.spec.id for n in widened.document.network("main").nodes()) == \
        ["Input", "Linear", "Output"]
    model, x = nn.Sequential(_Doubled(3, 4)).eval(), torch.randn(2, 3)
    doubled = import_module(model, x)
    net = doubled.document.network("main")
    assert sorted(n.spec.id for n in net.nodes()) == ["Input", "Linear", "Output", "Scale"]
    with torch.no_grad():
        assert torch.allclose(_compiled(doubled.document, doubled.weights)(x), model(x))


class _MaskFromSize(nn.Module):
    """Masks built from the sequence's length in forward, as many published models do."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        layer = nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.size(1)
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        h, _ = self.attn(x, x, x, attn_mask=mask, need_weights=False)
        square = nn.Transformer.generate_square_subsequent_mask(x.shape[1])
        return self.encoder(h, mask=square, is_causal=True)


def test_masks_made_from_the_length_in_forward_are_read_as_causal() -> None:
    model, x = _MaskFromSize().eval(), torch.randn(2, 5, 8)
    result = import_module(model, x)
    net = result.document.network("main")
    assert net.by_label("attn").params["causal"] is True  # type: ignore[union-attr]
    assert net.by_label("encoder.layers.0").params["causal"] is True  # type: ignore[union-attr]
    with torch.no_grad():
        assert torch.allclose(_compiled(result.document, result.weights)(x), model(x),
                              atol=1e-5)


class _FinalState(nn.Module):
    """The other common recurrent classifier: the last layer's final hidden state."""

    def __init__(self, kind: type[nn.RNNBase]) -> None:
        super().__init__()
        self.rnn = kind(4, 6, num_layers=2, batch_first=True)
        self.fc = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, state = self.rnn(x)
        h = state[0] if isinstance(self.rnn, nn.LSTM) else state
        return self.fc(h[-1])


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU])
def test_the_final_hidden_state_is_the_recurrent_layers_last_output(
        kind: type[nn.RNNBase]) -> None:
    model, x = _FinalState(kind).eval(), torch.randn(2, 5, 4)
    result = import_module(model, x)
    node = result.document.network("main").by_label("rnn")
    assert node is not None and node.params["output"] == "last"
    with torch.no_grad():
        assert torch.allclose(_compiled(result.document, result.weights)(x), model(x),
                              atol=1e-6)


class _InPlace(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.add_(1.0)


def test_the_example_input_is_left_as_it_was() -> None:
    x = torch.zeros(2, 3)
    with pytest.raises(ModelImportError, match=r"Tensor\.add_\(\) has no layer"):
        import_module(_InPlace(), x)
    assert torch.equal(x, torch.zeros(2, 3))


def test_a_head_sharing_the_token_embedding_is_tied_to_it() -> None:
    model, x = _model("gpt")
    result = import_module(model, x)
    net = result.document.network("main")
    head, embedding = net.by_label("lm_head"), net.by_label("wte")
    assert head is not None and embedding is not None
    assert head.params["tie_weight_to"] == embedding.id
    assert f"{head.id}.weight" not in result.weights  # held once, by the Embedding
