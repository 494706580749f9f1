"""Fitting a network's Input and Output to its data set (a new document's starting point)."""

from __future__ import annotations

import pytest

from graph.builder import NetworkBuilder
from graph.commands import History
from graph.document import Document
from graph.shapes import ShapeInference
from graph.starter import fit_to_data
from graph.validate import validate
from gui.files import blank_document
from runtime.preflight import describe_data


def _fitted(doc: Document, dataset: str, task: str = "classification") -> Document:
    doc.training = doc.training.model_copy(update={
        "task": task, "data": doc.training.data.model_copy(update={"name": dataset})})
    facts = describe_data(doc.training)
    command = fit_to_data(doc, "main", doc.training, facts)
    assert command is not None
    History(doc).push(command)
    problems = [d for d in validate(doc, ShapeInference(doc), data=facts) if d.is_error]
    assert problems == [], problems
    return doc


def _chain(doc: Document) -> list[str]:
    net = doc.network("main")
    return [net.node(n).type for n in net.topological_order()]


def test_a_blank_network_fits_images_with_a_flatten_and_one_score_per_class():
    doc = _fitted(blank_document(), "digits")
    assert _chain(doc) == ["Input", "Flatten", "Linear", "Output"]
    net = doc.network("main")
    linear = next(n for n in net.nodes() if n.type == "Linear")
    assert linear.params["out_features"] == 10
    assert next(n for n in net.nodes() if n.type == "Input").params["shape"] == (1, 8, 8)


def test_a_blank_network_fits_tables_without_a_flatten():
    doc = _fitted(blank_document(), "iris")
    assert _chain(doc) == ["Input", "Linear", "Output"]


def test_regression_gets_one_value_per_target():
    doc = _fitted(blank_document(), "sine", task="regression")
    linear = next(n for n in doc.network("main").nodes() if n.type == "Linear")
    assert linear.params["out_features"] == 1


def test_an_existing_head_is_resized_and_the_fit_is_one_undo_step():
    doc = Document.new("main")
    b = NetworkBuilder(doc, "main")
    b.add("Output", b.add("Linear", b.add("ReLU", b.add("Input", shape=[4])), out_features=2))
    before = doc.network("main").to_data()
    history = History(doc)
    doc.training = doc.training.model_copy(update={
        "data": doc.training.data.model_copy(update={"name": "digits"})})
    command = fit_to_data(doc, "main", doc.training, describe_data(doc.training))
    assert command is not None
    history.push(command)
    head = next(n for n in doc.network("main").nodes() if n.type == "Linear")
    assert head.params["out_features"] == 10
    history.undo()
    assert doc.network("main").to_data() == before


def test_a_network_that_fits_needs_no_change():
    doc = _fitted(blank_document(), "iris")
    assert fit_to_data(doc, "main", doc.training, describe_data(doc.training)) is None


@pytest.mark.parametrize("kind", ["tokens"])
def test_token_inputs_are_left_to_the_user(kind):
    doc = blank_document()
    net = doc.network("main")
    inp = next(n for n in net.nodes() if n.type == "Input")
    doc.set_param("main", inp.id, "kind", kind)
    assert fit_to_data(doc, "main", doc.training, describe_data(doc.training)) is None
