"""Each validation rule fires on a document made to break it, and not on a clean one."""

from __future__ import annotations

import pytest

from graph import Document, NetworkBuilder
from graph.shapes import ShapeInference
from graph.training import GanSpec, LossSpec, NetworkTrainingSpec, TrainingSpec
from graph.validate import TRAINING, Diagnostic, location, validate


def classifier(last: str | None = None, out_features: int = 3) -> Document:
    """Input(4) → fc1 → ReLU → fc2 [→ last] → Output."""
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[4], label="x")
    h = b.add("ReLU", b.add("Linear", x, out_features=16, label="fc1"), label="act")
    h = b.add("Linear", h, out_features=out_features, label="fc2")
    if last is not None:
        h = b.add(last, h, label="last")
    b.add("Output", h, label="out")
    return doc


def gan_doc(noise: bool = True, gen_shape: tuple[int, ...] = (1, 4, 4),
            disc_shape: tuple[int, ...] = (1, 4, 4)) -> Document:
    doc = Document()
    g = NetworkBuilder(doc, "generator")
    z = g.add("Noise", size=8, label="z") if noise else g.add("Input", shape=[8], label="z")
    h = g.add("Linear", z, out_features=16, label="g_fc")
    g.add("Output", g.add("Reshape", h, shape=list(gen_shape), label="g_shape"), label="g_out")
    d = NetworkBuilder(doc, "discriminator")
    x = d.add("Input", shape=list(disc_shape), label="image")
    h = d.add("Linear", d.add("Flatten", x, label="flat"), out_features=1, label="d_fc")
    d.add("Output", h, label="d_out")
    doc.set_training(TrainingSpec(
        task="gan", loss=LossSpec(name="bce_logits"), gan=GanSpec(),
        networks={"generator": NetworkTrainingSpec(), "discriminator": NetworkTrainingSpec()},
    ))
    return doc


def with_training(doc: Document, **changes: object) -> Document:
    data = doc.training.to_data()
    for key, value in changes.items():
        data[key] = value
    doc.set_training(TrainingSpec.model_validate(data))
    return doc


def messages(found: list[Diagnostic], severity: str | None = None) -> list[str]:
    return [d.message for d in found if severity is None or d.severity == severity]


def only(found: list[Diagnostic], needle: str) -> Diagnostic:
    hits = [d for d in found if needle in d.message]
    assert len(hits) == 1, messages(found)
    return hits[0]


def label_of(doc: Document, d: Diagnostic) -> str:
    assert d.node is not None
    return doc.network(d.network).node(d.node).label


def assert_names_its_node(doc: Document, found: list[Diagnostic]) -> None:
    for d in found:
        assert "Traceback" not in d.message
        if d.node is not None:
            assert f"'{label_of(doc, d)}'" in d.message, d.message


# -- clean documents ------------------------------------------------------------
def test_clean_classifier_has_no_diagnostics() -> None:
    assert validate(classifier()) == []


def test_clean_gan_has_no_diagnostics() -> None:
    assert validate(gan_doc(), sample_shape=(1, 4, 4)) == []


def test_validate_follows_live_shapes_after_an_edit() -> None:
    doc = classifier()
    shapes = ShapeInference(doc)
    assert validate(doc, shapes) == []
    fc1 = doc.network("main").by_label("fc1")
    assert fc1 is not None
    doc.set_param("main", fc1.id, "out_features", 0)
    found = validate(doc, shapes)
    d = only(found, "out_features")
    assert d.severity == "error" and label_of(doc, d) == "fc1"
    assert "Linear 'fc1'" in d.message and "at least 1" in d.message


# -- structure --------------------------------------------------------------------
def test_cycle_is_an_error_naming_the_nodes() -> None:
    doc = classifier()
    net = doc.network("main")
    fc1, fc2 = net.by_label("fc1"), net.by_label("fc2")
    assert fc1 is not None and fc2 is not None
    net.graph.add_edge(fc2.id, fc1.id, ports=("x",))  # Document.connect refuses this
    d = only(validate(doc), "cycle")
    assert d.severity == "error"
    assert "'fc1'" in d.message and "'fc2'" in d.message and "remove one" in d.message


def test_missing_input_is_an_error_naming_the_label() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    b.add("Input", shape=[4], label="x")
    b.add("Output", b.add("Linear", out_features=2, label="fc"), label="out")
    d = only(validate(doc), "input 'x' is not connected")
    assert d.severity == "error"
    assert d.message.startswith("Linear 'fc'")


def test_node_connected_to_nothing_is_reported_once_as_a_warning() -> None:
    doc = classifier()
    doc.add_node("main", "Linear", label="stray")
    doc.add_node("main", "Input", label="spare")
    found = validate(doc)
    for label in ("stray", "spare"):
        d = only(found, f"'{label}'")
        assert "is not connected" in d.message and d.severity == "warning"


def test_unwired_output_is_an_error() -> None:
    doc = classifier()
    doc.add_node("main", "Output", label="out2")
    d = only(validate(doc), "is not connected")
    assert d.severity == "error" and label_of(doc, d) == "out2"


def test_problems_off_the_path_to_the_output_are_warnings() -> None:
    doc = classifier()
    x = doc.network("main").by_label("x")
    assert x is not None
    NetworkBuilder(doc).add("Conv2d", x.id, label="side_conv")  # 1-D input: a shape error
    found = validate(doc)
    d = only(found, "images shaped")
    assert d.severity == "warning" and label_of(doc, d) == "side_conv"
    assert not [d for d in found if d.is_error]


def test_unused_output_and_dead_branch_are_warnings() -> None:
    doc = classifier()
    b = NetworkBuilder(doc)
    act = doc.network("main").by_label("act")
    assert act is not None
    b.add("Linear", b.add("Tanh", act.id, label="side"), out_features=2, label="dangling")
    found = validate(doc)
    assert not [d for d in found if d.is_error]
    assert "is not used" in only(found, "'dangling'").message
    assert "does not contribute to the output" in only(found, "'side'").message


@pytest.mark.parametrize(("remove", "needle"), [("x", "has no Input"), ("out", "has no Output")])
def test_missing_input_or_output_node(remove: str, needle: str) -> None:
    doc = classifier()
    node = doc.network("main").by_label(remove)
    assert node is not None
    doc.remove_node("main", node.id)
    d = only(validate(doc), needle)
    assert d.severity == "error" and d.node is None and "add an" in d.message


def test_empty_network_is_one_error() -> None:
    doc = Document.new()
    found = validate(doc)
    assert [d.severity for d in found] == ["error"]
    assert "empty" in found[0].message


def test_second_output_is_an_error() -> None:
    doc = classifier()
    fc1 = doc.network("main").by_label("fc1")
    assert fc1 is not None
    NetworkBuilder(doc).add("Output", fc1.id, label="out2")
    d = only(validate(doc), "second Output")
    assert d.severity == "error" and label_of(doc, d) == "out2" and "'out'" in d.message


def test_parameter_out_of_bounds_is_an_error() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[4], label="x")
    b.add("Output", b.add("Dropout", x, p=1.5, label="drop"), label="out")
    d = only(validate(doc), "parameter 'p'")
    assert d.severity == "error" and "at most 0.99" in d.message
    assert d.message.startswith("Dropout 'drop'")


def test_shape_error_names_the_node_and_the_fix() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[4], label="x")
    b.add("Output", b.add("Conv2d", x, label="conv"), label="out")
    d = only(validate(doc), "Conv2d 'conv'")
    assert d.severity == "error"
    assert "images shaped C×H×W" in d.message and "Reshape" in d.message


# -- learners' traps -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("last", "loss", "needle"),
    [
        ("Softmax", "cross_entropy", "remove the softmax"),
        ("LogSoftmax", "cross_entropy", "switch the loss to nll"),
        ("Softmax", "nll", "use logsoftmax"),
        ("Sigmoid", "bce_logits", "remove the sigmoid"),
        ("Dropout", "cross_entropy", "move it before the last layer"),
    ],
)
def test_trap_before_output_warns(last: str, loss: str, needle: str) -> None:
    doc = with_training(classifier(last), loss={"name": loss})
    found = validate(doc)
    assert len(found) == 1, messages(found)
    d = found[0]
    assert d.severity == "warning" and label_of(doc, d) == "last"
    assert needle in d.message.lower()


@pytest.mark.parametrize(("last", "loss"), [("Softmax", "mse"), ("Sigmoid", "mse"),
                                            ("LogSoftmax", "nll")])
def test_trap_stays_quiet_when_the_loss_does_not_apply_it(last: str, loss: str) -> None:
    doc = with_training(classifier(last), loss={"name": loss}, task="regression")
    assert validate(doc) == []


def test_nll_without_log_softmax_warns() -> None:
    doc = with_training(classifier(), loss={"name": "nll"})
    d = only(validate(doc), "NLL")
    assert d.severity == "warning" and label_of(doc, d) == "out"


def test_relu_before_output_warns_for_regression() -> None:
    doc = with_training(classifier("ReLU"), task="regression", loss={"name": "mse"})
    d = only(validate(doc), "negative")
    assert d.severity == "warning" and label_of(doc, d) == "last"


def test_cross_entropy_with_one_score_warns() -> None:
    doc = classifier(out_features=1)
    d = only(validate(doc), "one score per class")
    assert d.severity == "warning" and label_of(doc, d) == "out"


def test_batchnorm_with_batch_size_one() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[4], label="x")
    b.add("Output", b.add("Linear", b.add("BatchNorm1d", x, label="bn"), out_features=3,
                          label="fc"), label="out")
    assert validate(doc) == []
    with_training(doc, batch_size=1)
    d = only(validate(doc), "batch size is 1")
    assert d.severity == "error" and label_of(doc, d) == "bn"


# -- training section --------------------------------------------------------------
def test_trained_network_must_exist() -> None:
    doc = with_training(classifier(), networks={"main": {}, "encoder": {}})
    d = only(validate(doc), "'encoder'")
    assert d.severity == "error" and d.network == TRAINING and d.node is None
    assert location(doc, d) == "training"


def test_autoencoder_output_must_match_input() -> None:
    doc = with_training(classifier(), task="autoencoder", loss={"name": "mse"})
    d = only(validate(doc), "autoencoder")
    assert d.severity == "error" and "N×3" in d.message and "N×4" in d.message


def test_gan_generator_must_start_from_noise() -> None:
    doc = gan_doc(noise=False)
    d = only(validate(doc), "Noise")
    assert d.severity == "error" and d.network == "generator" and label_of(doc, d) == "z"


def test_gan_shapes_must_match() -> None:
    doc = gan_doc(gen_shape=(16,))
    d = only(validate(doc), "generator 'generator' makes")
    assert d.severity == "error" and d.network == "discriminator"
    assert "N×16" in d.message and "N×1×4×4" in d.message


def test_gan_networks_must_exist_and_differ() -> None:
    doc = gan_doc()
    training = doc.training.model_copy(update={"gan": GanSpec(discriminator="critic")})
    doc.set_training(training)
    d = only(validate(doc), "'critic'")
    assert d.severity == "error" and d.network == TRAINING
    doc.set_training(training.model_copy(update={"gan": GanSpec(discriminator="generator")}))
    assert only(validate(doc), "both").severity == "error"


def test_gan_sample_shape_must_fit_the_generator() -> None:
    found = validate(gan_doc(), sample_shape=(1, 8, 8))
    assert {d.network for d in found if d.is_error} == {"generator", "discriminator"}
    assert "N×1×8×8" in only(found, "the generator's Output").message


@pytest.mark.parametrize("sample", [(4,), (2, 2)])
def test_sample_shape_that_fits_is_fine(sample: tuple[int, ...]) -> None:
    assert validate(classifier(), sample_shape=sample) == []


def test_sample_shape_that_does_not_fit_is_an_error() -> None:
    doc = classifier()
    d = only(validate(doc, sample_shape=(1, 8, 8)), "data set")
    assert d.severity == "error" and label_of(doc, d) == "x"
    assert "N×4" in d.message and "N×1×8×8" in d.message and "[1, 8, 8]" in d.message


# -- every message, and the order ------------------------------------------------------
def test_sorted_by_network_then_topological_order() -> None:
    doc = classifier("Softmax")
    second = NetworkBuilder(doc, "second")
    second.add("Input", shape=[4], label="lonely")
    main = doc.network("main")
    fc2 = main.by_label("fc2")
    assert fc2 is not None
    doc.set_param("main", fc2.id, "out_features", 0)  # error on fc2; softmax warns later
    doc.add_node("main", "Linear", label="stray")  # a root, added last: ties go by id
    found = validate(doc)
    where = [location(doc, d) for d in found]
    order = main.topological_order()  # the order the compiler runs and the summary lists
    assert order.index(fc2.id) < order.index(main.by_label("stray").id)  # type: ignore[union-attr]
    assert where.index("main:fc2") < where.index("main:stray")
    assert all(w.startswith("main") for w in where[: where.index("second")])
    # the network's own problem (no Output) comes before its node's (unused Input)
    assert where[-2:] == ["second", "second:lonely"]
    assert_names_its_node(doc, found)


def test_every_message_names_its_node() -> None:
    docs = [gan_doc(noise=False, gen_shape=(16,)), classifier("Softmax"),
            with_training(classifier("Dropout"), task="autoencoder", batch_size=1)]
    for doc in docs:
        found = validate(doc, sample_shape=(3, 3))
        assert found
        assert_names_its_node(doc, found)


# -- agreement with the compiler ---------------------------------------------------------
def _variants() -> list[Document]:
    docs = [classifier(), classifier("Softmax")]
    stray = classifier()
    stray.add_node("main", "Linear", label="stray")
    side = classifier()
    x = side.network("main").by_label("x")
    assert x is not None
    NetworkBuilder(side).add("Conv2d", x.id, label="side_conv")
    bad_param = classifier()
    fc2 = bad_param.network("main").by_label("fc2")
    assert fc2 is not None
    bad_param.set_param("main", fc2.id, "out_features", 0)
    two_outputs = classifier()
    act = two_outputs.network("main").by_label("act")
    assert act is not None
    NetworkBuilder(two_outputs).add("Output", act.id)
    no_output = classifier()
    out = no_output.network("main").by_label("out")
    assert out is not None
    no_output.remove_node("main", out.id)
    unwired = classifier()
    fc1 = unwired.network("main").by_label("fc1")
    assert fc1 is not None
    unwired.disconnect("main", *unwired.network("main").in_edges(fc1.id)[0])
    return [*docs, stray, side, bad_param, two_outputs, no_output, unwired]


@pytest.mark.parametrize("doc", _variants())
def test_no_errors_exactly_when_the_network_compiles(doc: Document) -> None:
    from graph.compile import CompileError, compile_network

    errors = [d for d in validate(doc) if d.is_error]
    try:
        compile_network(doc, "main")
    except CompileError:
        assert errors
    else:
        assert not errors, messages(errors)


def test_each_gan_network_needs_an_optimiser() -> None:
    doc = gan_doc()
    doc.set_training(doc.training.model_copy(
        update={"networks": {"generator": NetworkTrainingSpec()}}))
    d = only(validate(doc), "no optimiser")
    assert d.severity == "error" and d.network == TRAINING
    assert "'discriminator'" in d.message and "train only generator" in d.message


def test_a_non_gan_task_trains_exactly_one_network() -> None:
    doc = with_training(gan_doc(), task="classification", gan=None, loss={"name": "cross_entropy"})
    d = only(validate(doc), "trains one network")
    assert d.severity == "error" and "name 2 (generator, discriminator)" in d.message


def test_a_dim_in_pytorchs_numbering_is_named_as_the_dim_it_meant() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc, "main")
    head = b.add("Linear", b.add("Input", shape=[4]), out_features=3)
    b.add("Output", b.add("Softmax", head, dim=1, label="probs"))
    found = messages(validate(doc), "error")
    assert any("dim 1 does not exist in N×3" in m and "PyTorch's dim=1 is dim 0 (or -1) here" in m
               for m in found), found
