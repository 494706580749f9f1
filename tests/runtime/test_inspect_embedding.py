"""Embedding view: PCA and the adjusted Rand index agree with scikit-learn; the default
node is an autoencoder's code or a classifier's last hidden layer; a run streams it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score

from graph.fileformat import load_graph
from runtime.inspect.embedding import default_node, embed_inspected, node_outputs, node_titles
from runtime.inspect.model import inspect_model
from runtime.inspect.projection import Embedding, adjusted_rand_index, kmeans, pca_2d
from runtime.trainer import RunOptions, Trainer
from tests.runtime.helpers import digits_cnn

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"


def _example(name: str):
    return load_graph(EXAMPLES / f"{name}.loom")


def test_pca_equals_scikit_learn_on_a_layers_activations() -> None:
    model = inspect_model(_example("autoencoder_digits"))
    x, _ = model.split("val")
    values = node_outputs(model.main, "n8", x)  # enc_act2: 128 values per sample
    assert values.shape == (len(x), 128)
    points, explained = pca_2d(values)
    reference = PCA(n_components=2).fit(values)
    expected = reference.transform(values)
    for axis in range(2):
        sign = np.sign(points[:, axis] @ expected[:, axis])
        np.testing.assert_allclose(points[:, axis], sign * expected[:, axis], atol=1e-4)
    np.testing.assert_allclose(explained, reference.explained_variance_ratio_, rtol=1e-5)


def test_one_value_per_sample_gives_a_flat_second_axis() -> None:
    points, explained = pca_2d(np.array([[1.0], [2.0], [4.0]]))
    np.testing.assert_allclose(np.abs(points[:, 0]), np.abs([-4 / 3, -1 / 3, 5 / 3]))
    assert not points[:, 1].any() and explained == (1.0, 0.0)


@pytest.mark.parametrize("seed", range(4))
def test_adjusted_rand_index_equals_scikit_learns(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 5, 300)
    clusters = np.where(rng.random(300) < 0.6, labels * 7 + 3, rng.integers(0, 8, 300))
    assert adjusted_rand_index(labels, clusters) == pytest.approx(
        adjusted_rand_score(labels, clusters), abs=1e-12)


def test_adjusted_rand_index_in_the_corner_cases() -> None:
    same = np.array([0, 0, 1, 1, 2])
    assert adjusted_rand_index(same, same + 5) == 1.0
    for a, b in ((np.zeros(4), np.zeros(4)), (np.arange(4), np.arange(4)),
                 (np.zeros(4), np.arange(4))):
        assert adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b))


def test_kmeans_finds_separated_groups_and_fits_as_well_as_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]])
    truth = rng.integers(0, 4, 400)
    points = centres[truth] + rng.normal(0, 0.5, (400, 2))
    assert adjusted_rand_index(truth, kmeans(points, 4)) == 1.0
    cloud = rng.normal(0, 1, (300, 2))
    found = kmeans(cloud, 5)
    inertia = sum(((cloud[found == c] - cloud[found == c].mean(0)) ** 2).sum()
                  for c in range(5))
    assert inertia <= KMeans(5, n_init=4, random_state=0).fit(cloud).inertia_ * 1.02


def test_default_node_is_the_code_or_the_last_hidden_layer() -> None:
    auto = inspect_model(_example("autoencoder_digits"))
    x, _ = auto.split("val")
    assert default_node(auto.main, "autoencoder", x) == auto.doc.network("main").by_label(
        "code").id
    cnn = inspect_model(digits_cnn())
    node = default_node(cnn.main, "classification", x)
    # Flatten → Dropout → head: Dropout passes its input on, so Flatten is named
    assert node is not None and node_titles(cnn.main)[node].startswith("Flatten")


def test_an_embedding_of_a_model_at_rest_names_its_node_and_classes() -> None:
    model = inspect_model(_example("autoencoder_digits"))
    shown = embed_inspected(model, "main", "n9", "pca")
    assert shown.title == "Linear 'code'" and shown.width == 2 and shown.split == "val"
    assert shown.points.shape == (270, 2) and shown.labels is not None
    # a 2-D code is drawn as it is (PCA would only rotate it)
    assert shown.method == "values" and shown.explained is None
    np.testing.assert_array_equal(shown.points, node_outputs(model.main, "n9",
                                                             model.split("val")[0]))
    assert shown.class_names == tuple(str(d) for d in range(10))
    again = Embedding.from_record(shown.record())
    np.testing.assert_allclose(again.points, shown.points, atol=1e-5)
    with pytest.raises(ValueError, match="an Input holds the samples themselves"):
        embed_inspected(model, "main", "n1", "pca")


def test_the_output_node_shows_what_the_network_returns() -> None:
    model = inspect_model(_example("cnn_digits"))
    output_id = model.doc.network("main").by_label("output").id
    shown = embed_inspected(model, "main", output_id, "pca")
    assert shown.title == "Output 'output'" and shown.width == 10
    x, _ = model.split("val")
    with torch.no_grad():
        logits = model.main(x).numpy()
    np.testing.assert_allclose(np.abs(shown.points[:, 0]),
                               np.abs(PCA(n_components=2).fit_transform(logits)[:, 0]),
                               atol=1e-4)


def test_a_run_streams_the_code_space_of_an_autoencoder() -> None:
    events: list[dict] = []
    trainer = Trainer(_example("autoencoder_digits"),
                      RunOptions(epochs=1, max_steps_per_epoch=2, step_interval=0),
                      sink=events.append)
    trainer.run()
    shown = [e for e in events if e["type"] == "embedding"]
    assert [e["epoch"] for e in shown] == [1]
    last = shown[-1]
    assert last["title"] == "Linear 'code'" and last["method"] == "values"
    assert len(last["points"]) == len(last["labels"]) == 270
    assert len(str(last)) < 40_000  # small enough to cross the process boundary often
