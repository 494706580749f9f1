"""Fitting a network's ends to its data: the Input's shape and the Output's size.

A new document starts as Input → Output; once the data set is known, the window
fits it (Input shaped like one sample; for classification and regression a Linear
layer giving one score per class or one value per target, after a Flatten where
the sample has several dimensions). The same fit is a command the user can run on
any network (Training > Fit Network to Data), one undo step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from graph.commands import AddNode, Connect, Disconnect, Macro, Move, SetParam
from graph.datafit import DataFacts
from graph.document import Document, Network, Node
from graph.training import TrainingSpec

TEXT = "Fit network to data"
GAP = 200.0  # canvas distance between inserted nodes


def wanted_outputs(training: TrainingSpec, facts: DataFacts) -> int | None:
    """Values per sample the Output must receive for the task (None: no rule here)."""
    if training.task == "classification" and facts.num_classes:
        return 1 if training.loss.name == "bce_logits" and facts.num_classes == 2 \
            else facts.num_classes
    if training.task == "regression" and facts.target == "value":
        return math.prod(facts.target_shape) if facts.target_shape else 1
    return None


def _one(net: Network, type_id: str) -> Node | None:
    found = [n for n in net.nodes() if n.type == type_id]
    return found[0] if len(found) == 1 else None


def fit_commands(doc: Document, network: str, training: TrainingSpec,
                 facts: DataFacts) -> list[Any]:
    """The edits that make ``network`` take the data's samples and give the task's outputs;
    empty when it already does (or when the network's ends are not a plain Input and
    Output this can reason about)."""
    net = doc.network(network)
    inp, out = _one(net, "Input"), _one(net, "Output")
    if inp is None or inp.params["kind"] != "float" or facts.target == "sequence_class":
        return []
    commands: list[Any] = []
    if tuple(inp.params["shape"]) != facts.sample_shape:
        commands.append(SetParam(network, inp.id, "shape", list(facts.sample_shape)))
    wanted = wanted_outputs(training, facts)
    if out is None or wanted is None:
        return commands
    feeder_id = net.source_of(out.id, "x")
    if feeder_id is None:
        return commands
    feeder = net.node(feeder_id)
    if feeder.type == "Linear":
        if feeder.params["out_features"] != wanted:
            commands.append(SetParam(network, feeder.id, "out_features", wanted))
        return commands
    if feeder.id != inp.id:
        return commands  # a network the user built: changing its last layer is their call
    return commands + _insert_head(doc, net, inp, out, wanted, len(facts.sample_shape) > 1)


def _insert_head(doc: Document, net: Network, inp: Node, out: Node, wanted: int,
                 flatten: bool) -> list[Any]:
    """Input → [Flatten →] Linear → Output, with the Output moved right to make room."""
    network = net.name
    x, y = inp.pos
    chain: list[str] = []
    commands: list[Any] = [Disconnect(network, inp.id, out.id, "x")]
    ids = iter(_fresh_ids(net, 2))
    if flatten:
        flat_id = next(ids)
        commands.append(AddNode(network, "Flatten", {}, pos=(x + GAP, y), node_id=flat_id))
        chain.append(flat_id)
    linear_id = next(ids)
    commands.append(AddNode(network, "Linear", {"out_features": wanted},
                            pos=(x + GAP * (len(chain) + 1), y), node_id=linear_id))
    chain.append(linear_id)
    source = inp.id
    for node_id in chain:
        commands.append(Connect(network, source, node_id, "x"))
        source = node_id
    commands.append(Connect(network, source, out.id, "x"))
    out_x = x + GAP * (len(chain) + 1)
    if out.pos[0] < out_x:
        commands.append(Move(network, {out.id: (out_x, out.pos[1])}, mergeable=False))
    return commands


def _fresh_ids(net: Network, count: int) -> list[str]:
    found: list[str] = []
    n = net.id_counter + 1  # as the document numbers its own new nodes
    while len(found) < count:
        candidate = f"n{n}"
        if candidate not in net:
            found.append(candidate)
        n += 1
    return found


@dataclass
class FitToData:
    """The fit as one undoable command."""

    network: str
    commands: list[Any] = field(default_factory=list)
    text: str = TEXT

    def apply(self, doc: Document) -> None:
        Macro(self.text, self.commands).apply(doc)

    def revert(self, doc: Document) -> None:
        Macro(self.text, self.commands).revert(doc)


def fit_to_data(doc: Document, network: str, training: TrainingSpec,
                facts: DataFacts) -> FitToData | None:
    """The command fitting ``network`` to the data, or None when nothing needs changing."""
    commands = fit_commands(doc, network, training, facts)
    return FitToData(network, commands) if commands else None
