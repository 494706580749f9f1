"""Try it's inputs: drawings made like the data sets' own images, typed values, token ids,
files, and answers equal to the networks' outputs on the same tensors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from graph.fileformat import load_graph
from runtime.data import Preprocessing
from runtime.data.inputs import InputError
from runtime.inspect import tryit
from runtime.inspect.tryit import TryModel, load_try_model

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"


def _model(name: str) -> TryModel:
    return load_try_model(load_graph(EXAMPLES / f"{name}.loom"), None)


def _ring(size: int = 224) -> np.ndarray:
    """A drawn 0: a ring in the middle third of the canvas, 100 px tall, 60 wide."""
    rows, cols = np.indices((size, size))
    r = ((rows - 112) / 50.0) ** 2 + ((cols - 100) / 30.0) ** 2
    return ((r > 0.55) & (r < 1.0)).astype(np.float32)


def test_a_drawing_becomes_a_digits_image_as_optdigits_made_them() -> None:
    model = _model("cnn_digits")
    raw = tryit.drawn_image(_ring(), model)
    assert raw.shape == (1, 8, 8) and raw.dtype == np.float32
    # counts of inked pixels in 4×4 blocks: whole numbers 0..16
    assert np.array_equal(raw, np.round(raw)) and 12 <= raw.max() <= 16 and raw.min() == 0
    rows = raw[0].sum(axis=1)
    assert rows[0] > 0 and rows[7] > 0  # the digit's height fills the box
    assert raw[0, 3:5, 3:5].sum() < raw[0, 3:5].sum() / 2  # the hole of the 0
    assert not tryit.drawn_image(np.zeros((224, 224)), model).any()  # nothing drawn


def test_a_drawing_becomes_an_mnist_image_centred_by_its_mass() -> None:
    model = _model("cnn_digits")
    model.inspected.stored = Preprocessing(  # as a network trained on MNIST stores it
        "unit", (1, 28, 28), np.zeros((1, 1, 1), np.float32),
        np.full((1, 1, 1), 255.0, np.float32), dataset="mnist",
        extra={"value_range": [0.0, 255.0]})
    corner = np.zeros((224, 224), np.float32)
    corner[10:90, 10:40] = 1.0  # drawn in the top-left corner
    raw = tryit.drawn_image(corner, model)[0]
    assert raw.shape == (28, 28) and raw.max() == pytest.approx(255.0)
    rows = np.nonzero(raw > 0)[0]
    assert rows.max() - rows.min() + 1 == 20  # fitted in 20 pixels
    mass = raw / raw.sum()
    centre = ((np.indices(raw.shape)[0] * mass).sum(), (np.indices(raw.shape)[1] * mass).sum())
    assert centre == pytest.approx((14.0, 14.0), abs=0.6)


def test_the_answer_is_the_networks_softmax_on_the_preprocessed_sample() -> None:
    model = _model("cnn_digits")
    raw, split, label = tryit.data_sample(model, 4)
    assert split == "test" and label in {str(d) for d in range(10)}
    result = tryit.answer(model, raw)
    pre = model.pre
    x = torch.as_tensor((raw[None] - pre.offset) / pre.scale, dtype=torch.float32)
    with torch.no_grad():
        expected = torch.softmax(model.module(x), dim=-1)[0].numpy()
    np.testing.assert_allclose(result.probabilities, expected, atol=1e-6)
    assert result.class_names == [str(d) for d in range(10)]
    assert next(iter(result.path)) == "n1" and len(result.path) == 16


def test_typed_values_name_the_field_that_is_wrong() -> None:
    names = ["sepal length (cm)", "sepal width (cm)"]
    np.testing.assert_array_equal(tryit.typed_values(["5,1", " 3.5 "], names),
                                  np.float32([5.1, 3.5]))  # a decimal comma is read too
    for texts, message in ((["5.1", ""], "'sepal width (cm)' is empty"),
                           (["x", "1"], "'sepal length (cm)': 'x' is not a number"),
                           (["inf", "1"], "not a finite number"),
                           (["1", "1e39"], "not a finite number")):
        with pytest.raises(InputError, match=re.escape(message)):
            tryit.typed_values(texts, names)


def test_values_far_outside_the_data_are_refused_after_normalising() -> None:
    model = _model("mlp_iris")
    with pytest.raises(InputError, match="far outside the training data"):
        tryit.answer(model, np.array([3e38, 1, 1, 1], dtype=np.float32))


def test_token_ids_are_typed_and_answered_per_position() -> None:
    model = _model("transformer_reverse")
    assert model.input_kind() == "values" and model.feature_names()[0] == "token 1"
    ids = [str(d) for d in range(8)]
    result = tryit.answer(model, tryit.typed_values(ids, model.feature_names()))
    assert result.kind == "positions" and len(result.positions) == 8
    with torch.no_grad():
        out = model.module(torch.arange(8)[None])
    probs = torch.softmax(out, dim=-1)[0]
    assert [name for name, _ in result.positions] == [str(int(k)) for k in probs.argmax(-1)]
    with pytest.raises(InputError, match=r"'token 3': 2\.5 is not a token id"):
        tryit.answer(model, tryit.typed_values([*ids[:2], "2.5", *ids[3:]],
                                               model.feature_names()))


def test_a_short_sequence_is_typed_step_by_step() -> None:
    model = _model("rnn_sine")
    assert model.input_kind() == "values" and model.feature_names()[:2] == ["step 1", "step 2"]
    raw, _, _ = tryit.data_sample(model, 0)
    typed = tryit.typed_values([f"{v:.9g}" for v in raw.reshape(-1)], model.feature_names())
    assert tryit.answer(model, typed).values == tryit.answer(model, raw).values


def test_a_gan_sample_is_the_generators_output_in_the_datas_units() -> None:
    model = _model("gan_ring")
    result = tryit.generated(model, 3)
    noise = torch.randn(1, model.inspected.data.latent_size,
                        generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = model.pre.invert(model.module(noise).numpy())[0]
    assert result.kind == "points"
    np.testing.assert_allclose(result.values, expected, rtol=1e-6)


def test_files_are_read_guarded_and_a_note_says_which_sample(tmp_path: Path) -> None:
    model = _model("mlp_iris")
    (tmp_path / "rows.csv").write_text("5.1,3.5,1.4,0.2\n6.3,2.9,5.6,1.8\n")
    raw, note = tryit.file_sample(model, tmp_path / "rows.csv")
    np.testing.assert_allclose(raw, [5.1, 3.5, 1.4, 0.2])
    assert note == "rows.csv holds 2 samples; this is the first"
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(InputError, match="does not take images"):
        tryit.file_sample(model, tmp_path / "broken.png")
    with pytest.raises(InputError, match=r"cannot read image .*broken\.png"):
        tryit.file_sample(_model("cnn_digits"), tmp_path / "broken.png")


def test_an_autoencoder_answers_with_its_reconstruction_and_code() -> None:
    model = _model("autoencoder_digits")
    raw, _, _ = tryit.data_sample(model, 0)
    result = tryit.answer(model, raw)
    x = tryit.network_input(model, raw)
    with torch.no_grad():
        recon = model.module(x).numpy()
    assert result.kind == "image" and result.image is not None
    np.testing.assert_allclose(result.image, model.pre.invert(recon)[0], rtol=1e-5, atol=1e-5)
    assert result.code is not None and result.code[0] == "Linear 'code'"
    code_id = model.inspected.doc.network("main").by_label("code").id
    np.testing.assert_allclose(result.code[1], result.path[code_id]["values"], rtol=1e-6)
