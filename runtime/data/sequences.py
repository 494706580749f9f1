"""Generated sequence tasks for recurrent networks and Transformers.

* ``sine``: forecast the next value of a noisy sine wave from a window of ``T`` values.
* ``waveforms``: classify a noisy ``T``-step signal by its shape.
* ``copy`` / ``reverse`` / ``sort``: map ``T`` digit tokens to ``T`` target tokens.
"""

from __future__ import annotations

import numpy as np

from runtime.data.dataset import Dataset
from runtime.data.registry import OptionSpec, register, samples_option, seed_option

WAVE_SHAPES = ("sine", "square", "triangle", "sawtooth")


def _length(default: int, maximum: int = 512) -> OptionSpec:
    return OptionSpec("length", "int", default, "Time steps per sample (T).", minimum=2,
                      maximum=maximum)


def repeat_last_mse(x: np.ndarray, y: np.ndarray) -> float:
    """MSE of predicting each target as the last input value: the bar a forecaster must beat."""
    last = np.asarray(x, dtype=np.float64)[:, -1, :]
    return float(np.mean((last.reshape(np.shape(y)) - np.asarray(y, dtype=np.float64)) ** 2))


@register("sine", title="Sine forecasting", category="sequence",
          description="A window of T noisy sine values (T×1) → the next noisy value. "
                      "Periods 8..40 steps, random phase.",
          options=(samples_option(2000), _length(20),
                   OptionSpec("noise", "float", 0.05, "Standard deviation of the noise (σ).",
                              minimum=0.0, maximum=10.0),
                   seed_option()),
          tasks=("regression",))
def make_sine(n_samples: int, length: int, noise: float, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    period = rng.uniform(8.0, 40.0, (n_samples, 1))
    phase = rng.uniform(0.0, 2.0 * np.pi, (n_samples, 1))
    steps = np.arange(length + 1)[None, :]
    wave = np.sin(2.0 * np.pi * steps / period + phase)
    wave = wave + rng.normal(0.0, noise, wave.shape)
    x, y = wave[:, :length, None], wave[:, length:]
    baseline = repeat_last_mse(x, y)
    return Dataset(
        name="sine", x=x, y=y, target_kind="value",
        description=f"sine forecasting: {n_samples} windows of {length}×1 → next value, "
                    f"noise σ={noise:g}; repeat-last-value baseline MSE {baseline:.4f}",
        metadata={"baseline": "repeat_last", "baseline_mse": baseline},
    )


def _wave(shape: str, phase01: np.ndarray) -> np.ndarray:
    """One period of each shape over a phase in [0, 1), with values in [-1, 1]."""
    if shape == "sine":
        return np.sin(2.0 * np.pi * phase01)
    if shape == "square":
        return np.where(phase01 < 0.5, 1.0, -1.0)
    if shape == "triangle":
        return 4.0 * np.abs(phase01 - 0.5) - 1.0
    return 2.0 * phase01 - 1.0  # sawtooth


@register("waveforms", title="Waveform shapes", category="sequence",
          description="Classify a noisy T×1 signal as sine, square, triangle or sawtooth "
                      "(random period 6..24 steps, phase and amplitude).",
          options=(samples_option(2000), _length(32),
                   OptionSpec("classes", "int", 4, "How many shapes, in the order sine, "
                              "square, triangle, sawtooth.", minimum=2, maximum=4),
                   OptionSpec("noise", "float", 0.2, "Standard deviation of the noise.",
                              minimum=0.0, maximum=10.0),
                   seed_option()))
def make_waveforms(n_samples: int, length: int, classes: int, noise: float,
                   seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % classes
    rng.shuffle(y)
    period = rng.uniform(6.0, 24.0, (n_samples, 1))
    phase = np.mod(np.arange(length)[None, :] / period + rng.uniform(0, 1, (n_samples, 1)), 1.0)
    amplitude = rng.uniform(0.5, 1.5, (n_samples, 1))
    x = np.empty((n_samples, length))
    for k in range(classes):
        rows = y == k
        x[rows] = _wave(WAVE_SHAPES[k], phase[rows])
    x = amplitude * x + rng.normal(0.0, noise, x.shape)
    return Dataset(
        name="waveforms", x=x[:, :, None], y=y, target_kind="class",
        class_names=WAVE_SHAPES[:classes],
        description=f"waveforms: {n_samples} signals of {length}×1, {classes} shapes, "
                    f"noise {noise:g}",
    )


_TOKEN_OPTIONS = (
    samples_option(2000), _length(8, 256),
    OptionSpec("vocab", "int", 10, "Vocabulary size V: tokens are ids 0..V-1.", minimum=2,
               maximum=10_000),
    seed_option(),
)


def _tokens(name: str, n_samples: int, length: int, vocab: int, seed: int,
            rule: str) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, vocab, (n_samples, length), dtype=np.int64)
    if rule == "copy":
        y = x.copy()
    elif rule == "reverse":
        y = x[:, ::-1].copy()
    else:
        y = np.sort(x, axis=1)
    return Dataset(
        name=name, x=x, y=y, target_kind="sequence_class", vocab_size=vocab,
        num_classes=vocab, class_names=tuple(str(t) for t in range(vocab)),
        description=f"{rule} tokens: {n_samples} sequences of {length} ids from a vocabulary "
                    f"of {vocab}; one target token per position",
    )


@register("copy", title="Copy tokens", category="sequence",
          description="Output the input tokens unchanged (T ids → T ids).",
          options=_TOKEN_OPTIONS)
def make_copy(n_samples: int, length: int, vocab: int, seed: int) -> Dataset:
    return _tokens("copy", n_samples, length, vocab, seed, "copy")


@register("reverse", title="Reverse tokens", category="sequence",
          description="Output the input tokens in reverse order (T ids → T ids).",
          options=_TOKEN_OPTIONS)
def make_reverse(n_samples: int, length: int, vocab: int, seed: int) -> Dataset:
    return _tokens("reverse", n_samples, length, vocab, seed, "reverse")


@register("sort", title="Sort tokens", category="sequence",
          description="Output the input tokens sorted ascending (T ids → T ids).",
          options=_TOKEN_OPTIONS)
def make_sort(n_samples: int, length: int, vocab: int, seed: int) -> Dataset:
    return _tokens("sort", n_samples, length, vocab, seed, "sort")
