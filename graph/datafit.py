"""Does a network's Output fit its task and its data? (targets per sample, classes, loss)

The runtime describes the data set as ``DataFacts`` (it loads or generates it);
this module only compares those facts with the inferred shape reaching the
Output, so validation, the command line and the trainer all say the same thing
before a run starts instead of failing inside the loss.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple

from graph.catalog import TensorSpec
from graph.document import Network, Node
from graph.training import TrainingSpec

TargetKind = Literal["class", "value", "sequence_class"]


@dataclass(frozen=True)
class DataFacts:
    """What a run needs to know about its data set, as training will see it."""

    name: str  # the data set's name in the training section ("sine", "csv", …)
    samples: int  # rows in the whole set, before splitting
    sample_shape: tuple[int, ...]  # one input sample, without the batch dimension
    target: TargetKind | None  # None: no targets (autoencoder, GAN)
    target_shape: tuple[int, ...] = ()  # one target: () a class, (k,) values, (T,) classes
    num_classes: int | None = None
    class_names: tuple[str, ...] = ()  # the first few, for messages
    vocab_size: int | None = None  # text: distinct characters of the training text, or tokens

    @property
    def sample_values(self) -> int:
        return math.prod(self.sample_shape)


class Finding(NamedTuple):
    """One problem: the node to change, how bad it is, and what to do."""

    node: str | None
    severity: Literal["error", "warning"]
    message: str


def output_fit(net: Network, out: TensorSpec | None, training: TrainingSpec,
               data: DataFacts) -> Iterator[Finding]:
    """Problems between what reaches ``net``'s one Output (``out``) and the data's targets.

    Each finding names the node feeding the Output, since that is the layer to change.
    """
    output = _the_output(net)
    if training.task == "language_model":
        yield from _language(net, training, data)
    if output is None or out is None or training.task not in ("classification", "regression",
                                                              "language_model"):
        return
    feeder_id = net.source_of(output.id, "x")
    feeder = net.node(feeder_id) if feeder_id is not None else output
    check = _Check(net, feeder, out, training, data)
    if training.task == "language_model":
        yield from _language_output(net, check, training, data)
        return
    if data.target == "value":
        yield from check.values()
    elif data.target == "class":
        yield from check.classes(steps=None)
    elif data.target == "sequence_class":
        yield from check.classes(steps=data.target_shape[0] if data.target_shape else None)


_SEES_AHEAD = {"TransformerEncoderLayer": "causal", "MultiheadAttention": "causal",
               "TransformerDecoderLayer": "causal"}
_READS_BACKWARDS = ("RNN", "LSTM", "GRU")


def language_vocab(training: TrainingSpec, data: DataFacts) -> int | None:
    """Token ids the text has: the tokenised windows', the chosen byte-pair vocabulary, or
    the characters of the training text."""
    if data.target == "sequence_class":
        return data.num_classes
    if training.tokenizer.kind == "bpe":
        return training.tokenizer.vocab_size
    return data.vocab_size


def _language(net: Network, training: TrainingSpec, data: DataFacts) -> Iterator[Finding]:
    """A language model reads token ids and must not see the tokens it predicts."""
    node = next((n for n in net.nodes() if n.type == "Input"), None)
    vocab = language_vocab(training, data)
    if node is not None:
        shape = list(node.params["shape"])
        if node.params["kind"] != "tokens" or len(shape) != 1:
            yield Finding(node.id, "error",
                          f"a language model reads a sequence of token ids, so Input "
                          f"'{node.label}' needs kind 'tokens' and shape [T] (T: the context "
                          f"length), not kind '{node.params['kind']}' and shape {shape}")
        elif vocab is not None and node.params["vocab_size"] < vocab:
            yield Finding(node.id, "error",
                          f"Input '{node.label}' has vocab_size {node.params['vocab_size']} "
                          f"but the text of '{data.name}' has {vocab} different "
                          f"{'tokens' if training.tokenizer.kind == 'bpe' else 'characters'}: "
                          f"set vocab_size to {vocab}")
    for layer in net.nodes():
        if _SEES_AHEAD.get(layer.type) in layer.params and not layer.params["causal"]:
            yield Finding(layer.id, "error",
                          f"{layer.spec.display_name} '{layer.label}' lets every position see "
                          "the later ones, so the language model could read the very token it "
                          "must predict: turn on 'causal'")
        elif layer.type in _READS_BACKWARDS and layer.params.get("bidirectional"):
            yield Finding(layer.id, "error",
                          f"{layer.type} '{layer.label}' reads the sequence backwards too, so "
                          "the language model could read the very token it must predict: "
                          "turn off 'bidirectional'")


def _language_output(net: Network, check: _Check, training: TrainingSpec,
                     data: DataFacts) -> Iterator[Finding]:
    """The Output scores every token of the vocabulary at each of the T positions."""
    node = next((n for n in net.nodes() if n.type == "Input"), None)
    vocab = language_vocab(training, data)
    if node is None or vocab is None or len(node.params["shape"]) != 1 or \
            node.params["kind"] != "tokens":
        return  # _language names the Input
    steps, shape = int(node.params["shape"][0]), check.out.shape
    if len(shape) != 2 or shape[0] != steps:
        yield check.finding(
            "error",
            f"{check.head} gives {check.out.describe()} but a language model scores each of "
            f"the {vocab} tokens at every one of the {steps} positions, so it needs "
            f"N×{steps}×{vocab}: keep the sequence (e.g. an LSTM with output 'sequence') and "
            f"end with a Linear layer of {vocab} outputs")
    elif shape[1] < vocab:
        yield check.finding(
            "error",
            f"{check.head} gives {_count(shape[1], 'score')} per position but the text of "
            f"'{data.name}' has {vocab} different tokens: {check.fix(vocab)}")
    elif shape[1] > vocab:
        yield check.finding(
            "warning",
            f"{check.head} gives {_count(shape[1], 'score')} per position but the text of "
            f"'{data.name}' has only {vocab} different tokens, so {shape[1] - vocab} of them "
            f"are never right: {check.fix(vocab)}")


def _the_output(net: Network) -> Node | None:
    outputs = [n for n in net.nodes() if n.spec.role == "output"]
    return outputs[0] if len(outputs) == 1 else None


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass
class _Check:
    net: Network
    feeder: Node
    out: TensorSpec
    training: TrainingSpec
    data: DataFacts

    @property
    def head(self) -> str:
        """"Output of 'main'": how the messages start."""
        return f"Output of '{self.net.name}'"

    @property
    def task(self) -> str:
        return f"the task {self.training.task} on '{self.data.name}'"

    def fix(self, width: int) -> str:
        """How to make the feeding node give ``width`` values per sample (or per step)."""
        name = f"{self.feeder.spec.display_name} '{self.feeder.label}'"
        if "out_features" in self.feeder.params:
            return f"set {name} out_features to {width}"
        return f"end the network with a Linear layer of {width} outputs after {name}"

    def labels(self, classes: int) -> str:
        """"labels 0–6", or the first names when the labels are words."""
        names = self.data.class_names
        if not names or names == tuple(str(k) for k in range(len(names))):
            return f"labels 0–{classes - 1}"
        shown = ", ".join(names[:4])
        return shown + (", …" if classes > 4 else "")

    def finding(self, severity: Literal["error", "warning"], message: str) -> Finding:
        return Finding(self.feeder.id, severity, message)

    def values(self) -> Iterator[Finding]:
        wanted = math.prod(self.data.target_shape)
        given = math.prod(self.out.shape)
        if given != wanted:
            yield self.finding(
                "error",
                f"{self.head} gives {_count(given, 'value')} per sample but {self.task} has "
                f"{_count(wanted, 'target')} per sample: {self.fix(wanted)}")

    def classes(self, steps: int | None) -> Iterator[Finding]:
        """Class labels, one per sample (``steps`` None) or one per time step."""
        classes = self.data.num_classes or 0
        shape = self.out.shape
        per = "per sample" if steps is None else "per time step"
        if self.training.loss.name == "bce_logits":
            yield from self._binary(classes, steps)
            return
        wanted_rank = 1 if steps is None else 2
        if len(shape) != wanted_rank or (steps is not None and shape[0] != steps):
            needed = "×".join(["N", *([str(steps)] if steps else []), str(max(classes, 1))])
            yield self.finding(
                "error",
                f"{self.head} gives scores shaped {self.out.describe()} but {self.task} has "
                f"{classes} classes and one label {per}, so it needs {needed}: reshape or "
                "flatten before the last layer so that it scores each class once "
                f"{per}")
            return
        scores = shape[-1]
        if scores < classes:
            yield self.finding(
                "error",
                f"{self.head} gives {_count(scores, 'score')} {per} but {self.task} has "
                f"{classes} classes ({self.labels(classes)}): {self.fix(classes)}")
        elif scores > classes and classes > 0:
            yield self.finding(
                "warning",
                f"{self.head} gives {_count(scores, 'score')} {per} but {self.task} has only "
                f"{classes} classes, so {scores - classes} of them never match a label: "
                f"{self.fix(classes)}")

    def _binary(self, classes: int, steps: int | None) -> Iterator[Finding]:
        """bce_logits: one logit per label, and only two classes (0 and 1)."""
        given = math.prod(self.out.shape)
        wanted = steps or 1
        if classes > 2:
            yield self.finding(
                "error",
                f"the bce_logits loss tells two classes apart, but {self.task} has {classes} "
                f"classes ({self.labels(classes)}): use the cross_entropy loss and "
                f"{self.fix(classes)}")
        elif given != wanted:
            yield self.finding(
                "error",
                f"{self.head} gives {_count(given, 'value')} per sample but the bce_logits loss "
                f"needs one logit per label ({wanted} per sample): {self.fix(1)}, or use the "
                "cross_entropy loss with one score per class")
