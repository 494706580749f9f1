"""The catalog's own invariants: one spec per id, sane defaults, learner-facing text."""

from __future__ import annotations

import pytest

from graph.catalog import Catalog, LayerSpec, ParamSpec, ParamTypeError, catalog

REQUIRED = {
    "Input", "Noise", "Output", "Linear", "Dropout", "BatchNorm1d", "LayerNorm", "Flatten",
    "Reshape", "Permute", "ReLU", "LeakyReLU", "GELU", "SiLU", "ELU", "Sigmoid", "Tanh",
    "Softmax", "LogSoftmax", "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d",
    "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm2d", "Upsample", "RNN", "GRU", "LSTM",
    "Embedding", "Patchify", "PositionalEncoding", "MultiheadAttention",
    "TransformerEncoderLayer", "TransformerDecoderLayer", "SequencePool", "Add", "Concat",
    "Multiply",
}


def test_catalog_has_every_required_layer() -> None:
    assert {spec.id for spec in catalog()} >= REQUIRED


def test_every_layer_type_has_valid_defaults_and_text() -> None:
    for spec in catalog():
        for p in spec.all_params:
            assert p.problem(p.coerce(p.default)) is None, (spec.id, p.name)
            assert p.doc.strip(), (spec.id, p.name)
        assert spec.description[0].isupper() and spec.description.endswith("."), spec.id
        assert len(spec.description) <= 90, spec.id  # one line in a tooltip
        assert (spec.build is None) == (spec.role != "layer"), spec.id


def test_layers_with_weights_offer_init_and_trainable() -> None:
    for spec in catalog():
        names = {p.name for p in spec.all_params}
        assert ({"init", "trainable"} <= names) == spec.has_weights, spec.id


def test_input_sizes_are_never_parameters() -> None:
    banned = {"in_features", "in_channels", "input_size", "num_features", "d_model",
              "embed_dim", "normalized_shape"}
    for spec in catalog():
        assert not banned & {p.name for p in spec.all_params}, spec.id


def test_registry_refuses_duplicates_and_maps_legacy_ids() -> None:
    registry = Catalog()
    registry.register(LayerSpec("Dense", "Dense", "Dense", "A layer.", legacy_ids=("FC",)))
    with pytest.raises(ValueError, match="twice"):
        registry.register(LayerSpec("Dense", "Dense", "Dense", "Again."))
    assert registry.get("FC").id == "Dense"
    with pytest.raises(KeyError, match="unknown layer type 'Nope'"):
        registry.get("Nope")


def test_registry_refuses_legacy_ids_that_collide() -> None:
    registry = Catalog()
    registry.register(LayerSpec("Linear", "Linear", "Dense", "A layer.", legacy_ids=("FC",)))
    # a legacy id naming a live layer would redirect every Linear node to the new layer
    with pytest.raises(ValueError, match="legacy id 'Linear' of 'Dense' is already taken"):
        registry.register(LayerSpec("Dense", "Dense", "Dense", "A.", legacy_ids=("Linear",)))
    with pytest.raises(ValueError, match="legacy id 'FC' of 'Dense' is already taken by 'Linear'"):
        registry.register(LayerSpec("Dense", "Dense", "Dense", "A.", legacy_ids=("FC",)))
    assert registry.get("Linear").id == "Linear"
    assert "Dense" not in registry


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        (ParamSpec("k", "int", 1, "", minimum=1), "x", "expected a positive integer, got 'x'"),
        (ParamSpec("k", "int", 1, ""), True, "expected an integer"),
        (ParamSpec("f", "float", 1.0, ""), "1", "expected a number"),
        (ParamSpec("f", "float", 1.0, ""), float("nan"), "finite"),
        (ParamSpec("b", "bool", True, ""), 1, "expected true or false"),
        (ParamSpec("c", "choice", "a", "", choices=("a", "b")), "z", "one of 'a', 'b'"),
        (ParamSpec("s", "ints", (1,), ""), [1, "2"], "list of integers"),
    ],
)
def test_param_type_errors_are_refused_with_a_reason(spec: ParamSpec, value: object,
                                                     message: str) -> None:
    with pytest.raises(ParamTypeError, match=message):
        spec.coerce(value)


def test_param_bounds_are_a_problem_not_a_type_error() -> None:
    kernel = ParamSpec("kernel_size", "int", 3, "", minimum=1, maximum=64)
    assert kernel.problem(kernel.coerce(0)) == "must be at least 1, got 0"
    shape = ParamSpec("shape", "ints", (1,), "", minimum=1, allow_minus_one=True)
    assert shape.problem((-1, 4)) is None
    assert shape.problem((-1, -1)) == "only one dimension can be -1"
