"""Try it: the network's answer to one input of the user's own.

The input is a drawing, an image file, typed feature values or a sample of the data,
always as *raw* values in the data set's own units (digits' pixels 0..16, MNIST's
0..255, iris in centimetres); it then goes through exactly the preprocessing stored
with the weights, as ``predict`` does. The answer holds the class probabilities (or
the values, a reconstruction, a generated sample) and the input's path through the
network as ``forward`` records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from runtime.data.inputs import InputError, read_inputs
from runtime.inspect.forward import ForwardRecord, forward_records, output_node_id
from runtime.recipes.losses import as_targets, class_probabilities
from runtime.run_data import input_shape

if TYPE_CHECKING:
    from graph.document import Document
    from runtime.data import Preprocessing
    from runtime.inspect.model import InspectedModel

DIGITS_GRID = 32  # scikit-learn's digits: 32×32 bitmaps, ink counted in 4×4 blocks
MNIST_BOX = 20  # MNIST: the digit fitted in 20×20, centred by its mass in 28×28
INK = 0.5  # a drawn pixel counts as ink above half strength
TYPED_VALUES = 64  # a sequence up to this many values is typed, one field each
CODE_VALUES = 16  # an autoencoder's code is shown as numbers up to this size


@dataclass
class TryModel:
    """A trained (or fresh) model ready to answer single inputs."""

    inspected: InspectedModel
    network: str  # the network that takes the input (the generator, for a GAN)

    @property
    def module(self) -> nn.Module:
        return self.inspected.networks[self.network]

    @property
    def pre(self) -> Preprocessing:
        return self.inspected.preprocessing

    @property
    def task(self) -> str:
        return self.inspected.training.task

    @property
    def fresh(self) -> bool:
        return self.inspected.weights is None

    def input_kind(self) -> str:
        """How the user gives an input: "image" (draw or open one), "values" (type one
        per feature), "noise" (a GAN's seed) or "sample" (only samples of the data)."""
        if self.task == "gan":
            return "noise"
        pre = self.pre
        if len(pre.sample_shape) == 1 and (pre.dtype != "int64" or pre.vocab_size):
            return "values"  # features, or the token ids of a short sequence
        if len(pre.sample_shape) == 2 and math.prod(pre.sample_shape) <= TYPED_VALUES:
            return "values"  # a short sequence, one field per step (and feature)
        if pre.dtype == "int64":
            return "sample"
        if len(pre.sample_shape) == 3 and pre.sample_shape[0] in (1, 3):
            return "image"
        return "sample"

    def feature_names(self) -> list[str]:
        """One name per typed value: the data's names, else "feature 1", "feature 2", …"""
        size = math.prod(self.pre.sample_shape)
        names = self.pre.feature_names
        if names and len(names) == size:
            return list(names)
        if self.pre.dtype == "int64":
            return [f"token {i + 1}" for i in range(size)]
        if len(self.pre.sample_shape) == 2:
            steps, width = self.pre.sample_shape
            return [f"step {t + 1}" if width == 1 else f"step {t + 1}, feature {f + 1}"
                    for t in range(steps) for f in range(width)]
        return [f"feature {i + 1}" for i in range(size)]


def load_try_model(doc: Document, weights: str | Path | None,
                   base_dir: Path | None = None) -> TryModel:
    """The document's model with ``weights`` (None: fresh, untrained weights)."""
    from runtime.inspect.model import inspect_model

    model = inspect_model(doc, weights, base_dir)
    gan = model.training.gan
    network = gan.generator if model.training.task == "gan" and gan is not None \
        else next(iter(model.networks))
    return TryModel(model, network)


@dataclass
class Answer:
    """What the network made of one input."""

    kind: str  # "classes", "positions" (a class per position), "values", "image"
    # (a reconstruction or a generated image) or "points" (a generated point)
    seen: np.ndarray | None  # the input in the data's units (None for a GAN's noise)
    probabilities: list[float] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    positions: list[tuple[str, float]] = field(default_factory=list)  # class, probability
    code: tuple[str, list[float]] | None = None  # an autoencoder's code layer and values
    image: np.ndarray | None = None  # raw units, the data's sample shape
    path: dict[str, ForwardRecord] = field(default_factory=dict)
    network: str = ""

    @property
    def best(self) -> int:
        return int(np.argmax(self.probabilities)) if self.probabilities else -1


def network_input(model: TryModel, raw: np.ndarray) -> torch.Tensor:
    """One raw sample as the network takes it: the stored preprocessing, the Input's shape."""
    pre = model.pre
    if pre.dtype == "int64":
        _check_token_ids(np.asarray(raw), pre.vocab_size, model.feature_names())
    sample = np.asarray(raw, dtype=np.int64 if pre.dtype == "int64" else np.float32)
    if sample.ndim == 1 and sample.size == math.prod(pre.sample_shape):
        sample = sample.reshape(pre.sample_shape)  # typed values, in reading order
    if sample.shape != pre.sample_shape:
        raise InputError(f"the input has shape {sample.shape} but the network was trained on "
                         f"samples of shape {pre.sample_shape}")
    with np.errstate(over="ignore", invalid="ignore"):  # refused just below
        x = torch.as_tensor(np.asarray(pre.apply(sample[None]), dtype=sample.dtype))
    if not bool(torch.isfinite(x.float()).all()):
        raise InputError("a value is far outside the training data: after the "
                         f"{pre.kind!r} normalisation it overflows; use smaller values")
    wanted = input_shape(model.inspected.doc, model.network)
    if wanted is not None and math.prod(wanted) == x[0].numel():
        x = x.reshape(1, *wanted)
    return x


def _code(module: nn.Module, x: torch.Tensor) -> tuple[str, list[float]] | None:
    """An autoencoder's code for ``x``: its narrowest layer's title and (few) values."""
    from runtime.latent import bottleneck, codes

    found = bottleneck(module, x)
    if found is None or found[2] > CODE_VALUES:
        return None
    attr, title, _ = found
    return title, [float(v) for v in codes(module, attr, x)[0]]


def _check_token_ids(raw: np.ndarray, vocab: int | None, names: list[str]) -> None:
    """Token ids must be whole numbers the network knows (0 .. vocab - 1)."""
    flat = raw.reshape(-1)
    for i, value in enumerate(flat):
        if value != round(float(value)) or value < 0 or (vocab is not None and value >= vocab):
            where = names[i] if i < len(names) and raw.ndim == 1 else f"value {i + 1}"
            known = f"0..{vocab - 1}" if vocab else "whole numbers from 0"
            raise InputError(f"'{where}': {float(value):g} is not a token id the network "
                             f"knows ({known})")


@torch.no_grad()
def answer(model: TryModel, raw: np.ndarray) -> Answer:
    """The network's answer to one raw sample, with its path through the network."""
    x = network_input(model, raw)
    module = model.module
    out = module(x).float()
    result = Answer("values", np.asarray(raw), network=model.network)
    result.path = forward_records(module, x,
                                  output_id=output_node_id(model.inspected.doc, model.network))
    loss = model.inspected.training.loss.name
    if model.task == "classification" and out.dim() in (2, 3):
        probs = class_probabilities(out)[0]  # (classes,) or (positions, classes)
        names = model.pre.class_names
        count = probs.shape[-1]
        result.class_names = list(names) if names and len(names) == count else \
            [str(k) for k in range(count)]
        if out.dim() == 2:
            result.kind = "classes"
            result.probabilities = [float(p) for p in probs]
        else:  # one class per position of a sequence
            result.kind = "positions"
            best = probs.max(dim=-1)
            result.positions = [(result.class_names[int(k)], float(p))
                                for p, k in zip(best.values, best.indices, strict=True)]
    elif model.task == "autoencoder" and out[0].numel() == math.prod(model.pre.sample_shape):
        result.kind = "image"
        recon = as_targets(out, loss).reshape(1, *model.pre.sample_shape).numpy()
        result.image = np.asarray(model.pre.invert(recon))[0]
        result.code = _code(module, x)
    else:
        result.values = [float(v) for v in as_targets(out, loss).reshape(-1)]
    return result


@torch.no_grad()
def generated(model: TryModel, seed: int) -> Answer:
    """A GAN generator's sample for the noise vector drawn from ``seed``."""
    latent = model.inspected.data.latent_size
    noise = torch.randn(1, latent, generator=torch.Generator().manual_seed(seed))
    module = model.module
    out = module(noise).float()
    result = Answer("values", None, network=model.network)
    result.path = forward_records(module, noise,
                                  output_id=output_node_id(model.inspected.doc, model.network))
    shape = model.pre.sample_shape
    if out[0].numel() != math.prod(shape):
        result.values = [float(v) for v in out.reshape(-1)]
        return result
    sample = np.asarray(model.pre.invert(out.reshape(1, *shape).numpy()))[0]
    if len(shape) == 3:
        result.kind, result.image = "image", sample
    else:
        result.kind, result.values = "points", [float(v) for v in sample.reshape(-1)]
    return result


# -- the user's inputs, as raw samples -------------------------------------------------
def typed_values(texts: list[str], names: list[str]) -> np.ndarray:
    """One raw sample from typed numbers; an error names the field and what to type."""
    values = []
    for name, text in zip(names, texts, strict=True):
        cleaned = text.strip().replace(",", ".") if text.count(",") == 1 and "." not in text \
            else text.strip()
        if not cleaned:
            raise InputError(f"'{name}' is empty: type a number")
        try:
            value = float(cleaned)
        except ValueError:
            raise InputError(f"'{name}': {text.strip()!r} is not a number (type e.g. 5.1)") \
                from None
        if not math.isfinite(value) or abs(value) > float(np.finfo(np.float32).max):
            raise InputError(f"'{name}': {text.strip()!r} is not a finite number small "
                             "enough for 32-bit floats")
        values.append(value)
    return np.asarray(values, dtype=np.float32)


def file_sample(model: TryModel, path: str | Path) -> tuple[np.ndarray, str]:
    """The first sample of an image, .csv or .npy file (raw), and a note when it held
    more than one."""
    samples = read_inputs(path, model.pre)
    note = f"{Path(path).name} holds {len(samples)} samples; this is the first" \
        if len(samples) > 1 else ""
    return samples[0], note


def data_sample(model: TryModel, index: int) -> tuple[np.ndarray, str, str]:
    """Sample ``index`` of the held-out split (raw), its split's name and its label."""
    data = model.inspected.data
    for split in ("test", "val", "train"):
        rows = data.prepared.split(split).indices
        if len(rows):
            break
    row = rows[index % len(rows)]
    raw = np.asarray(data.prepared.dataset.x[row])
    y = data.prepared.dataset.y
    label = ""
    if y is not None and np.ndim(y[row]) == 0:
        names = data.prepared.dataset.class_names
        value = y[row]
        label = names[int(value)] if names and float(value).is_integer() else f"{value:.4g}"
    return raw.reshape(model.pre.sample_shape), split, label


def drawn_image(ink: np.ndarray, model: TryModel) -> np.ndarray:
    """A drawing (ink 0..1, any size, white strokes on black) as a raw image sample that
    looks like the data set's own: digits and MNIST are made as their authors made them."""
    channels, height, width = model.pre.sample_shape
    high = float((model.pre.extra or {}).get("value_range", [0, 255])[1])
    ink = np.clip(np.asarray(ink, dtype=np.float32), 0.0, 1.0)
    dataset = model.pre.dataset
    if dataset == "digits" and (height, width) == (8, 8):
        grey = _digits_blocks(ink) * (high / 16.0)
    elif dataset == "mnist" and (height, width) == (28, 28):
        grey = _mnist_centred(ink) * high
    else:
        grey = _resized(ink, width, height) * high
    return np.repeat(grey[None], channels, axis=0).astype(np.float32)


def _bounding_box(ink: np.ndarray) -> np.ndarray | None:
    rows, cols = np.nonzero(ink > INK)
    if len(rows) == 0:
        return None
    return ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def _fitted(ink: np.ndarray, box: int) -> np.ndarray:
    """The inked part scaled so its longer side is ``box`` pixels, centred in box×box."""
    part = _bounding_box(ink)
    out = np.zeros((box, box), np.float32)
    if part is None:
        return out
    h, w = part.shape
    scale = box / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    scaled = _resized(part, nw, nh)
    top, left = (box - nh) // 2, (box - nw) // 2
    out[top:top + nh, left:left + nw] = scaled
    return out


def _digits_blocks(ink: np.ndarray) -> np.ndarray:
    """The UCI optdigits recipe behind scikit-learn's digits: a 32×32 bitmap of the digit
    (its height filling the box), then the number of inked pixels in each 4×4 block."""
    bitmap = (_fitted(ink, DIGITS_GRID) > INK).astype(np.float32)
    blocks = DIGITS_GRID // 8
    return bitmap.reshape(8, blocks, 8, blocks).sum(axis=(1, 3))


def _mnist_centred(ink: np.ndarray) -> np.ndarray:
    """MNIST's recipe: the digit fitted in 20×20 (grey, anti-aliased), placed in 28×28
    with its centre of mass in the middle."""
    box = _fitted(ink, MNIST_BOX)
    out = np.zeros((28, 28), np.float32)
    total = float(box.sum())
    if total == 0:
        return out
    rows, cols = np.indices(box.shape)
    centre_r, centre_c = float((rows * box).sum()) / total, float((cols * box).sum()) / total
    top = int(np.clip(round(14 - centre_r), 0, 28 - MNIST_BOX))
    left = int(np.clip(round(14 - centre_c), 0, 28 - MNIST_BOX))
    out[top:top + MNIST_BOX, left:left + MNIST_BOX] = box
    return out


def _resized(values: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-averaged resize (Pillow's box filter) of a 0..1 grey array."""
    from runtime.data.image_files import pillow

    image = pillow().fromarray(np.asarray(values, dtype=np.float32))  # mode "F"
    resized = image.resize((width, height), pillow().Resampling.BOX)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)

