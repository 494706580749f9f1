"""A fixed classifier that judges generated images against held-out real ones.

It reads raw pixel values (the data set's own range, e.g. 0..16 for digits),
applies the normalisation stored with its weights, and gives class
probabilities plus the penultimate features: the input of the layer that feeds
its Output. Fréchet distances are measured in those features, so a number means
the same thing for every generator judged by the same shipped weights.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import fx

from graph.compile import CompileError, compile_network
from graph.fileformat import GraphFileError, load_graph
from runtime.checkpoint import WeightsError, load_weights
from runtime.data import Preprocessing
from runtime.evaluators.registry import EvaluatorError, EvaluatorInfo, evaluator_info
from runtime.metrics import frechet_distance

MIN_SHARE = 0.01  # a class counts as covered when at least this share is predicted as it
NOISE_SEED = 0


@dataclass(frozen=True)
class Judgement:
    """What the evaluator sees in a batch of images."""

    probs: np.ndarray  # N×C softmax probabilities
    features: np.ndarray  # N×F penultimate features (float64)

    @property
    def predicted(self) -> np.ndarray:
        return self.probs.argmax(axis=1)


class Evaluator:
    """A compiled classifier with its weights and preprocessing; see ``load_evaluator``."""

    def __init__(self, info: EvaluatorInfo, module: fx.GraphModule,
                 preprocessing: Preprocessing) -> None:
        self.info = info
        self.module = module.eval()
        self.preprocessing = preprocessing
        low, high = preprocessing.extra.get("value_range", (0.0, 1.0))
        self.value_range = (float(low), float(high))
        self._head = module.get_submodule(_head_name(module))

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return self.preprocessing.sample_shape

    @property
    def num_classes(self) -> int:
        return int(self.preprocessing.num_classes or 0)

    @torch.no_grad()
    def judge(self, raw: np.ndarray, batch: int = 1024) -> Judgement:
        """Probabilities and features of raw images (clipped to the value range first)."""
        x = np.clip(np.asarray(raw, dtype=np.float32), *self.value_range)
        x = x.reshape(len(x), *self.sample_shape)
        seen: list[torch.Tensor] = []
        hook = self._head.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
        try:
            logits = [self.module(torch.as_tensor(self.preprocessing.apply(x[i:i + batch])))
                      for i in range(0, len(x), batch)]
        finally:
            hook.remove()
        probs = torch.softmax(torch.cat(logits).float(), dim=1).numpy()
        features = torch.cat(seen).reshape(len(x), -1).double().numpy()
        return Judgement(probs, features)

    def accuracy(self, raw: np.ndarray, labels: np.ndarray) -> float:
        """Share of ``raw`` images classified as their ``labels``."""
        return float((self.judge(raw).predicted == np.asarray(labels)).mean())

    def noise_images(self, n: int, seed: int = NOISE_SEED) -> np.ndarray:
        """``n`` images of uniform noise over the value range: the far baseline."""
        rng = np.random.default_rng(seed)
        return rng.uniform(*self.value_range, size=(n, *self.sample_shape)).astype(np.float32)

    def report(self, generated: np.ndarray, real: np.ndarray,
               train: np.ndarray) -> dict[str, Any]:
        """Confidence, class coverage and Fréchet distance of ``generated`` against ``real``,
        with the real-vs-real (``train`` against ``real``) and noise-vs-real baselines."""
        fake, held_out = self.judge(generated), self.judge(real)
        shares = np.bincount(fake.predicted, minlength=self.num_classes) / len(generated)
        noise = self.judge(self.noise_images(len(real)))
        return {
            "evaluator": self.info.dataset,
            "evaluator_confidence": float(fake.probs.max(axis=1).mean()),
            "evaluator_classes_covered": int((shares >= MIN_SHARE).sum()),
            "evaluator_classes": self.num_classes,
            "frechet_distance": features_distance(fake, held_out),
            "frechet_real_vs_real": features_distance(self.judge(train), held_out),
            "frechet_noise_vs_real": features_distance(noise, held_out),
            "evaluator_confidence_real": float(held_out.probs.max(axis=1).mean()),
            "evaluator_class_shares": [float(s) for s in shares],
        }


def features_distance(a: Judgement, b: Judgement) -> float:
    """Fréchet distance between the penultimate features of two batches (never below 0)."""
    with warnings.catch_warnings():
        # ReLU units that never fire make the covariances singular; the distance is
        # still well defined (those directions have zero variance on both sides).
        warnings.filterwarnings("ignore", message="Matrix is singular")
        return max(0.0, frechet_distance(a.features, b.features))


def _head_name(module: fx.GraphModule) -> str:
    """The attribute of the layer that feeds the Output: its input is the features."""
    output = next(n for n in module.graph.nodes if n.op == "output")
    head = output.args[0]
    if not isinstance(head, fx.Node) or head.op != "call_module":
        raise EvaluatorError("an evaluator's Output must be fed by a layer (its head)")
    return str(head.target)


def load_evaluator(info: EvaluatorInfo) -> Evaluator:
    """Compile the evaluator's graph and load its weights (safetensors only)."""
    info.check_files()
    try:
        doc = load_graph(info.loom_path)
        network = next(iter(doc.training.networks))
        module = compile_network(doc, network)
        metadata = load_weights(info.weights_path, {network: module})
    except (GraphFileError, CompileError, WeightsError) as exc:
        raise EvaluatorError(f"the '{info.dataset}' evaluator cannot be loaded: {exc}") from None
    record = metadata.preprocessing
    if record is None:
        raise EvaluatorError(f"{info.weights_path} has no preprocessing record")
    return Evaluator(info, module, record.to_preprocessing())


@functools.cache
def evaluator_for(dataset: str) -> Evaluator | None:
    """The loaded evaluator of ``dataset`` (loaded once per process), or None if it has none."""
    info = evaluator_info(dataset)
    return load_evaluator(info) if info is not None else None
