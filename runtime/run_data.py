"""The data of one run: prepared splits as tensors on the device, shaped for the network.

Joins the document (which Input the data feeds, which network generates) with
``runtime.data`` (loading, splitting, normalisation, batches, augmentation).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from graph.document import Document, Network
from graph.training import TrainingSpec
from runtime.data import DataError, PreparedData, prepare
from runtime.data.augment import Augmenter
from runtime.data.batches import BatchIterator, epoch_seed
from runtime.preflight import check_output, facts_of
from runtime.records import TokenizerRecord
from runtime.tokens import CharTokenizer

if TYPE_CHECKING:
    from runtime.run_options import RunOptions

Batch = tuple[torch.Tensor, torch.Tensor | None]


class DataMismatch(ValueError):
    """The data set does not fit the network's Input; the message names both shapes."""


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape)


def _first_node(net: Network, type_id: str) -> Any:
    return next((n for n in net.nodes() if n.type == type_id), None)


def data_network(doc: Document, training: TrainingSpec) -> str:
    """The network that reads the data (the discriminator of a GAN)."""
    if training.task == "gan" and training.gan is not None:
        return training.gan.discriminator
    return next(iter(training.networks))


def input_shape(doc: Document, network: str) -> tuple[int, ...] | None:
    node = _first_node(doc.network(network), "Input")
    return tuple(node.params["shape"]) if node is not None else None


def generator_ends_in_tanh(doc: Document, training: TrainingSpec) -> bool:
    if training.task != "gan" or training.gan is None:
        return False
    net = doc.network(training.gan.generator)
    out = _first_node(net, "Output")
    feeding = net.inputs_of(out.id) if out is not None else []
    return bool(feeding) and net.node(feeding[0][1]).type == "Tanh"


def fit_shape(sample: tuple[int, ...], wanted: tuple[int, ...] | None,
              where: str) -> tuple[int, ...]:
    """The shape samples take in the network: the Input's, if the sizes agree."""
    if wanted is None or sample == wanted:
        return sample
    if math.prod(sample) == math.prod(wanted):
        return wanted
    raise DataMismatch(
        f"the data set's samples are {_shape_text(sample)} ({math.prod(sample)} values) but "
        f"{where} expects {_shape_text(wanted)} ({math.prod(wanted)} values); change the "
        "Input's shape or choose another data set")


@dataclass
class RunData:
    prepared: PreparedData
    train_x: torch.Tensor
    train_y: torch.Tensor | None
    val_x: torch.Tensor
    val_y: torch.Tensor | None
    test_x: torch.Tensor
    test_y: torch.Tensor | None
    latent_size: int = 0
    generator: str = ""
    tokenizer: TokenizerRecord | None = None  # text: how the text became ids
    text_baselines: dict[str, float] = field(default_factory=dict)  # n-gram losses, held out

    @property
    def has_val(self) -> bool:
        return len(self.val_x) > 0

    @property
    def has_test(self) -> bool:
        return len(self.test_x) > 0

    def preprocessing_dict(self) -> dict[str, Any]:
        return self.prepared.preprocessing.to_dict()

    def iterator(self, training: TrainingSpec, options: RunOptions) -> BatchIterator:
        return BatchIterator(self.train_x, self.train_y, training.batch_size,
                             seed=training.seed, rank=options.rank,
                             world_size=options.world_size)

    def steps_per_epoch(self, batch_size: int, options: RunOptions) -> int:
        n = -(-len(self.train_x) // options.world_size)
        steps = -(-n // batch_size)
        return min(steps, options.max_steps_per_epoch or steps)

    def epoch_batches(self, epoch: int, training: TrainingSpec,
                      options: RunOptions) -> EpochBatches:
        """This epoch's batches (augmented), the same whatever epochs ran before."""
        indices = self.iterator(training, options).index_batches(epoch)
        indices = indices[: self.steps_per_epoch(training.batch_size, options)]
        augment = training.data.augment
        augmenter = Augmenter(augment.shift, augment.flip,
                              torch.Generator().manual_seed(epoch_seed(training.seed + 1, epoch)))
        return EpochBatches(self.train_x, self.train_y, indices,
                            augmenter if augmenter.enabled else None,
                            self.prepared.sample_shape)


class EpochBatches:
    """One epoch's batches, gathered one at a time (no copy of the whole split)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None, indices: list[torch.Tensor],
                 augmenter: Augmenter | None, image_shape: tuple[int, ...] = ()) -> None:
        self.x, self.y, self.indices, self.augmenter = x, y, indices, augmenter
        self.image_shape = image_shape  # the data's own (C, H, W): augment in it

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[Batch]:
        for index in self.indices:
            x = self.x.index_select(0, index)
            if self.augmenter is not None:  # images may be reshaped for the Input
                model_shape = x.shape
                x = self.augmenter(x.reshape(len(x), *self.image_shape)).reshape(model_shape)
            yield x, (self.y.index_select(0, index) if self.y is not None else None)


def load_run_data(doc: Document, training: TrainingSpec, device: torch.device,
                  base_dir: Path | None = None) -> RunData:
    """Load, split and normalise the document's data and put it on ``device``."""
    if training.task == "language_model":
        from runtime.language import load_language_data

        return load_language_data(doc, training, device, base_dir)
    data_spec = training.data
    if generator_ends_in_tanh(doc, training) and data_spec.normalize != "symmetric":
        data_spec = data_spec.model_copy(update={"normalize": "symmetric"})
    prepared = prepare(data_spec, training.task, base_dir)
    network = data_network(doc, training)
    if network not in doc.networks:
        raise DataError(f"the training section names network '{network}', which the "
                        "document does not have")
    shape = fit_shape(prepared.sample_shape, input_shape(doc, network),
                      f"the Input of network '{network}'")
    check_output(doc, facts_of(prepared.dataset), training)  # before the loss finds out
    tensors: dict[str, Any] = {}
    for name in ("train", "val", "test"):
        split = prepared.split(name)
        x = torch.as_tensor(split.x).reshape(len(split.x), *shape)
        tensors[f"{name}_x"] = x.to(device)
        tensors[f"{name}_y"] = torch.as_tensor(split.y).to(device) if split.y is not None \
            else None
    latent, generator = 0, ""
    if training.task == "gan" and training.gan is not None:
        generator = training.gan.generator
        noise = _first_node(doc.network(generator), "Noise")
        if noise is None:
            raise DataError(f"the generator network '{generator}' needs a Noise input")
        latent = noise.params["size"]
    # labelled text (text_csv): its characters, id 0 padding, go with the weights
    alphabet = prepared.dataset.metadata.get("alphabet")
    tokenizer = CharTokenizer("\0" + alphabet).record() if isinstance(alphabet, str) else None
    return RunData(prepared, **tensors, latent_size=latent, generator=generator,
                   tokenizer=tokenizer)
