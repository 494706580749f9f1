"""Structural, shape and training checks of a document, in the user's terms.

``validate`` returns ``Diagnostic``s. Errors stop training and export; warnings
point at a likely mistake (often a learner's trap) and do not. Every message
names its node by layer type and label and says what to do about it. No raw
torch error reaches the user: shape inference has translated those already.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import networkx as nx

from graph.catalog import TensorSpec
from graph.datafit import DataFacts, output_fit
from graph.document import Document, Network, Node
from graph.shapes import NodeShape, ShapeInference, input_problem, param_problem
from graph.ties import tie_problems
from graph.training import GanSpec, TrainingSpec

Severity = Literal["error", "warning"]
Results = dict[str, NodeShape]

TRAINING = ""  # the ``network`` of diagnostics about the training section as a whole


@dataclass(frozen=True)
class Diagnostic:
    """One problem: where it is (network, node id or None) and what to do about it."""

    network: str  # TRAINING ("") for the document's training section
    node: str | None
    severity: Severity
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def validate(
    doc: Document,
    shapes: ShapeInference | None = None,
    sample_shape: tuple[int, ...] | None = None,
    data: DataFacts | None = None,
) -> list[Diagnostic]:
    """Every problem in ``doc``, sorted by network, then by the nodes' topological order.

    ``shapes`` is the live inference that follows ``doc`` (it is brought up to
    date here); without it a fresh one is run. ``sample_shape`` is the shape of
    one sample of the training data, when the caller knows it; ``data`` describes
    the data set (the runtime loads it), so the Output is checked against its targets.
    """
    if shapes is None:
        shapes = ShapeInference(doc)
    shapes.update()
    found: list[Diagnostic] = []
    ranks: dict[str, dict[str, int]] = {}  # network -> node id -> place in its order
    for net in doc.networks.values():
        results = shapes.results.get(net.name, {})
        found += _cycles(net)
        found += _endpoints(net)
        per_node = _nodes(net, results)
        ranks[net.name] = {node_id: i for i, node_id in enumerate(per_node)}
        found += (d for problems in per_node.values() for d in problems)
        found += (Diagnostic(net.name, node, "error", message)
                  for node, message in tie_problems(net, results))
    if data is not None and sample_shape is None:
        sample_shape = data.sample_shape
    found += _training(doc, shapes, sample_shape)
    if data is not None:
        found += _data_fit(doc, shapes, data)
    return _sorted(doc, found, ranks)


def location(doc: Document, diagnostic: Diagnostic) -> str:
    """Where a diagnostic points, for printing: ``network:label``, ``network`` or ``training``."""
    if diagnostic.network == TRAINING:
        return "training"
    net = doc.networks.get(diagnostic.network)
    if diagnostic.node is None or net is None or diagnostic.node not in net:
        return diagnostic.network
    return f"{diagnostic.network}:{net.node(diagnostic.node).label}"


# -- helpers ------------------------------------------------------------------
def _name(node: Node) -> str:
    return f"{node.spec.display_name} '{node.label}'"


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(["N", *(str(d) for d in shape)])


def _error(net: str, node: str | None, message: str) -> Diagnostic:
    return Diagnostic(net, node, "error", message)


def _warning(net: str, node: str | None, message: str) -> Diagnostic:
    return Diagnostic(net, node, "warning", message)


def _outputs(net: Network) -> list[Node]:
    """Output nodes, in the order they were added (the first one is "the" Output)."""
    return [n for n in net.nodes() if n.spec.role == "output"]


def _data_input(net: Network) -> Node | None:
    """The network's one data Input, or None when it has none or several."""
    inputs = [n for n in net.nodes() if n.type == "Input"]
    return inputs[0] if len(inputs) == 1 else None


def _the_output(net: Network) -> Node | None:
    """The network's Output when it has exactly one."""
    outputs = _outputs(net)
    return outputs[0] if len(outputs) == 1 else None


def _out(results: Results, node: Node | None) -> TensorSpec | None:
    """What a node produces (for an Output: what it receives), when known."""
    shape = results.get(node.id) if node is not None else None
    return shape.out if shape is not None else None


def _sorted(doc: Document, found: Iterable[Diagnostic],
            node_rank: dict[str, dict[str, int]]) -> list[Diagnostic]:
    net_rank = {name: i for i, name in enumerate(doc.networks)}

    def key(d: Diagnostic) -> tuple[int, int]:
        ranks = node_rank.get(d.network, {})
        node = -1 if d.node is None else ranks.get(d.node, len(ranks))
        return net_rank.get(d.network, len(net_rank)), node

    return sorted(found, key=key)


# -- structure ----------------------------------------------------------------
def _cycles(net: Network) -> Iterator[Diagnostic]:
    if nx.is_directed_acyclic_graph(net.graph):
        return
    cycle = nx.find_cycle(net.graph)
    labels = [f"'{net.node(u).label}'" for u, _ in cycle] + [f"'{net.node(cycle[0][0]).label}'"]
    yield _error(net.name, cycle[0][0],
                 f"network '{net.name}' has a cycle {' → '.join(labels)}; data must flow one "
                 "way, so remove one of these wires")


def _endpoints(net: Network) -> Iterator[Diagnostic]:
    if len(net) == 0:
        yield _error(net.name, None, f"network '{net.name}' is empty: add an Input, some "
                                     "layers and an Output")
        return
    if not any(n.spec.role == "input" for n in net.nodes()):
        yield _error(net.name, None, f"network '{net.name}' has no Input: add an Input node "
                                     "and set the shape of one sample")
    outputs = _outputs(net)
    if not outputs:
        yield _error(net.name, None, f"network '{net.name}' has no Output: add an Output node "
                                     "after the last layer")
    for extra in outputs[1:]:
        yield _error(net.name, extra.id,
                     f"{_name(extra)} is a second Output in '{net.name}' (the first is "
                     f"'{outputs[0].label}'); a network returns one tensor, so delete it or "
                     "join the branches with a Concat before one Output")


def _nodes(net: Network, results: Results) -> dict[str, list[Diagnostic]]:
    """Per-node problems (wiring, parameters, shapes and connectivity), by node id in
    the network's order.

    Compilation keeps only what feeds the Output, so a problem in a node that does
    not is a warning: it does not stop training or export.
    """
    outputs = [n.id for n in _outputs(net)]
    useful = set(outputs).union(*(nx.ancestors(net.graph, o) for o in outputs))

    def problems(node: Node, inputs: list[tuple[str, str]]) -> list[Diagnostic]:
        spec, name = node.spec, _name(node)
        severity: Severity = "error" if not outputs or node.id in useful else "warning"
        wiring = input_problem(spec, node, inputs)
        param = param_problem(spec, node.params)
        shape = results.get(node.id)
        isolated = net.graph.degree(node.id) == 0 and len(net) > 1
        found: list[Diagnostic] = []
        if isolated:  # an Output is "useful", so an unwired Output stays an error
            found.append(Diagnostic(net.name, node.id, severity, f"{name} is not connected: "
                                    "wire it into the network or delete it"))
        elif wiring:
            found.append(Diagnostic(net.name, node.id, severity, _wiring_message(name, wiring)))
        if param:
            found.append(Diagnostic(net.name, node.id, severity, f"{name}: {param}"))
        if shape and shape.error and shape.error not in (param, wiring):
            found.append(Diagnostic(net.name, node.id, severity, f"{name} {shape.error}"))
        if not isolated:
            found += _connectivity(net, node, outputs, useful)
        return found

    return net.walk(problems)


def _wiring_message(name: str, problem: str) -> str:
    if problem.startswith("input "):
        return f"{name}: {problem}; wire a layer's output into it"
    return f"{name} {problem}; wire more layers into it"


def _connectivity(net: Network, node: Node, outputs: list[str], useful: set[str]
                  ) -> Iterator[Diagnostic]:
    """Warnings for a wired node whose result is unused or never reaches the Output."""
    if node.spec.role == "output":
        return
    if net.graph.out_degree(node.id) == 0:
        yield _warning(net.name, node.id, f"the output of {_name(node)} is not used: connect "
                                          "it to the next layer or delete it")
    elif outputs and node.id not in useful:
        yield _warning(net.name, node.id, f"{_name(node)} does not contribute to the output: "
                                          "connect its branch onward or delete it")


# -- learners' traps ----------------------------------------------------------
_BEFORE_OUTPUT: dict[tuple[str, str], str] = {
    # (layer type, loss) -> what to say; loss "*" matches any loss
    ("Softmax", "cross_entropy"): (
        "applies softmax a second time. Remove the Softmax: the cross-entropy loss applies "
        "it, so feed the Output raw scores"),
    ("LogSoftmax", "cross_entropy"): (
        "applies log-softmax a second time: the cross-entropy loss applies it itself. Remove "
        "the LogSoftmax, or switch the loss to NLL"),
    ("Softmax", "nll"): (
        "gives probabilities, but the NLL loss expects log-probabilities: use LogSoftmax "
        "instead, or remove it and switch the loss to cross-entropy"),
    ("Sigmoid", "bce_logits"): (
        "applies sigmoid a second time: the BCE-with-logits loss applies it itself. Remove "
        "the Sigmoid and feed the Output raw scores"),
    ("Dropout", "*"): (
        "randomly zeroes predictions while training; move it before the last layer that "
        "has weights"),
}


def _traps(net: Network, results: Results, training: TrainingSpec,
           loss_applies: bool) -> Iterator[Diagnostic]:
    """Common mistakes around a trained network's Output (warnings)."""
    output = _the_output(net)
    if output is None:
        return
    out = _out(results, output)
    task = training.task
    # A GAN's discriminator is always trained with BCE on logits, whatever the loss says.
    loss = "bce_logits" if task == "gan" else training.loss.name
    prev_id = net.source_of(output.id, "x")
    prev = net.node(prev_id) if prev_id is not None else None
    if prev is not None:
        advice = _BEFORE_OUTPUT.get((prev.type, "*"))
        if loss_applies:
            advice = _BEFORE_OUTPUT.get((prev.type, loss), advice)
        if advice:
            yield _warning(net.name, prev.id, f"{_name(prev)} right before the Output {advice}")
        if prev.type == "ReLU" and task in ("classification", "regression"):
            yield _warning(net.name, prev.id,
                           f"{_name(prev)} right before the Output cannot produce negative "
                           "values, which cuts off half of the scores or predictions; remove it "
                           "so the network ends with its last Linear layer")
    if loss_applies and loss == "nll" and (prev is None or prev.type not in ("LogSoftmax",
                                                                             "Softmax")):
        yield _warning(net.name, output.id,
                       f"the NLL loss expects log-probabilities, but {_name(output)} does not "
                       "follow a LogSoftmax: add one, or switch the loss to cross-entropy")
    if loss_applies and loss == "cross_entropy" and out is not None and out.shape == (1,):
        yield _warning(net.name, output.id,
                       f"{_name(output)} receives one score per sample, but the cross-entropy "
                       "loss needs one score per class (with one class it is always 0): give "
                       "the last layer one output per class, or use the bce_logits loss for a "
                       "yes/no task")


def _batch_traps(net: Network, results: Results, training: TrainingSpec) -> Iterator[Diagnostic]:
    if training.batch_size != 1:
        return
    for node in net.nodes():  # in any order: validate sorts what it found
        if not node.type.startswith("BatchNorm"):
            continue
        ins = [results[s].out for _, s in net.inputs_of(node.id) if s in results]
        flat = bool(ins) and ins[0] is not None and len(ins[0].shape) == 1
        yield Diagnostic(net.name, node.id, "error" if flat else "warning",
                         f"{_name(node)} needs more than one sample per batch while training, "
                         "but the batch size is 1: raise the batch size or use LayerNorm")


# -- training section ---------------------------------------------------------
def _training(
    doc: Document, shapes: ShapeInference, sample_shape: tuple[int, ...] | None
) -> Iterator[Diagnostic]:
    training = doc.training
    for name in training.networks:
        if name not in doc.networks:
            yield _error(TRAINING, None,
                         f"the training settings train network '{name}', but the document has "
                         f"no network of that name; rename a network to '{name}' or change "
                         "the training settings")
    if training.task == "gan":
        yield from _gan(doc, shapes, training.gan or GanSpec(), sample_shape)
        return
    if len(training.networks) != 1:
        yield _error(TRAINING, None,
                     f"a {training.task} run trains one network, but the training settings "
                     f"name {len(training.networks)} ({', '.join(training.networks) or 'none'})"
                     "; keep one, or make the task a GAN")
    for name in training.networks:
        net = doc.networks.get(name)
        if net is None:
            continue
        results = shapes.results.get(name, {})
        yield from _traps(net, results, training, loss_applies=True)
        yield from _batch_traps(net, results, training)
        if training.task == "autoencoder":
            yield from _autoencoder(net, results)
        # a corpus is checked by its own rules (graph.datafit): windows are cut to the Input
        if sample_shape is not None and training.task != "language_model":
            yield from _sample_check(net, sample_shape)


def _data_fit(doc: Document, shapes: ShapeInference, data: DataFacts) -> Iterator[Diagnostic]:
    for name in doc.training.networks:
        net = doc.networks.get(name)
        if net is not None:
            out = _out(shapes.results.get(name, {}), _the_output(net))
            for node, severity, message in output_fit(net, out, doc.training, data):
                yield Diagnostic(name, node, severity, message)


def _sample_check(net: Network, sample: tuple[int, ...]) -> Iterator[Diagnostic]:
    """The data set's samples must fit the Input: same shape, or as many values (reshaped)."""
    node = _data_input(net)
    if node is None:
        return
    shape = tuple(node.params["shape"])
    if math.prod(shape) != math.prod(sample):
        yield _error(net.name, node.id,
                     f"{_name(node)} expects samples shaped {_shape_text(shape)} "
                     f"({math.prod(shape)} values) but the data set's samples are "
                     f"{_shape_text(sample)} ({math.prod(sample)} values); set the Input's "
                     f"shape to {list(sample)}")


def _autoencoder(net: Network, results: Results) -> Iterator[Diagnostic]:
    node, output = _data_input(net), _the_output(net)
    out = _out(results, output)
    if node is None or output is None or out is None:
        return
    shape = tuple(node.params["shape"])
    if out.shape != shape:
        yield _error(net.name, output.id,
                     f"{_name(output)} receives {_shape_text(out.shape)}, but an autoencoder "
                     f"must rebuild its input {_shape_text(shape)}; end the decoder with a "
                     f"Reshape to {list(shape)} or a layer of that size")


def _gan(
    doc: Document, shapes: ShapeInference, gan: GanSpec, sample: tuple[int, ...] | None
) -> Iterator[Diagnostic]:
    for role, name in (("generator", gan.generator), ("discriminator", gan.discriminator)):
        if name not in doc.networks:
            yield _error(TRAINING, None,
                         f"the GAN's {role} is network '{name}', which does not exist; add it "
                         f"or choose another {role} in the training settings")
        elif name not in doc.training.networks:
            yield _error(TRAINING, None,
                         f"the GAN's {role} '{name}' has no optimiser in the training "
                         f"settings, which train only {', '.join(doc.training.networks)}")
    if gan.generator == gan.discriminator:
        yield _error(TRAINING, None, f"the GAN's generator and discriminator are both "
                                     f"'{gan.generator}': choose two different networks")
        return
    gen, disc = doc.networks.get(gan.generator), doc.networks.get(gan.discriminator)
    if gen is not None:
        results = shapes.results.get(gen.name, {})
        yield from _generator(gen, results, sample)
        yield from _traps(gen, results, doc.training, loss_applies=False)
        yield from _batch_traps(gen, results, doc.training)
    if disc is not None:
        results = shapes.results.get(disc.name, {})
        yield from _traps(disc, results, doc.training, loss_applies=True)
        yield from _batch_traps(disc, results, doc.training)
        if sample is not None:
            yield from _sample_check(disc, sample)
    if gen is None or disc is None:
        return
    out, node = _out(shapes.results.get(gen.name, {}), _the_output(gen)), _data_input(disc)
    if out is None or node is None:
        return
    made, wanted = out.shape, tuple(node.params["shape"])
    if made != wanted:
        yield _error(disc.name, node.id,
                     f"the generator '{gen.name}' makes samples shaped {_shape_text(made)} but "
                     f"the discriminator's {_name(node)} expects {_shape_text(wanted)}; make "
                     "them equal (e.g. end the generator with a Reshape)")


def _generator(net: Network, results: Results, sample: tuple[int, ...] | None
               ) -> Iterator[Diagnostic]:
    if not any(n.type == "Noise" for n in net.nodes()):
        first = _data_input(net)
        where = f": replace {_name(first)} with a Noise input" if first else ": add a Noise input"
        yield _error(net.name, first.id if first else None,
                     f"the GAN generator '{net.name}' must start from a Noise input{where}")
    output = _the_output(net)
    out = _out(results, output)
    if sample is None or output is None or out is None:
        return
    if math.prod(out.shape) != math.prod(sample):
        yield _error(net.name, output.id,
                     f"the generator's {_name(output)} receives {_shape_text(out.shape)} but "
                     f"the data set's samples are {_shape_text(sample)}; make the generator "
                     "produce samples of that shape")
