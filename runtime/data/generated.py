"""Two-dimensional toy sets in the spirit of TensorFlow Playground.

Every set is a pure function of its options: the same ``seed`` gives the same
points. Classes are balanced (sizes differ by at most one).
"""

from __future__ import annotations

import numpy as np

from runtime.data.dataset import Dataset
from runtime.data.registry import OptionSpec, register, samples_option, seed_option


def _noise(default: float, meaning: str = "Standard deviation of Gaussian noise "
                                         "added to each coordinate.") -> OptionSpec:
    return OptionSpec("noise", "float", default, meaning, minimum=0.0, maximum=10.0)


def _classes(default: int, maximum: int = 10) -> OptionSpec:
    return OptionSpec("classes", "int", default, "Number of classes.", minimum=2,
                      maximum=maximum)


def _class_sizes(n_samples: int, classes: int) -> list[int]:
    base, extra = divmod(n_samples, classes)
    return [base + (1 if k < extra else 0) for k in range(classes)]


def _finish(name: str, parts: list[np.ndarray], rng: np.random.Generator, noise: float,
            what: str) -> Dataset:
    """Stack per-class points, add noise, shuffle so neighbouring rows mix classes."""
    x = np.concatenate(parts)
    y = np.concatenate([np.full(len(p), k, dtype=np.int64) for k, p in enumerate(parts)])
    x = x + rng.normal(0.0, noise, size=x.shape)
    order = rng.permutation(len(x))
    return Dataset(name=name, x=x[order], y=y[order], target_kind="class",
                   class_names=tuple(str(k) for k in range(len(parts))),
                   description=f"{what}: {len(x)} points in 2-D, {len(parts)} classes, "
                               f"noise {noise:g}")


@register("moons", title="Two moons", category="generated",
          description="Two interleaving half circles.",
          options=(samples_option(500), _noise(0.1), seed_option()))
def make_moons(n_samples: int, noise: float, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    n_upper, n_lower = _class_sizes(n_samples, 2)
    t_upper = rng.uniform(0.0, np.pi, n_upper)
    t_lower = rng.uniform(0.0, np.pi, n_lower)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)
    lower = np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)
    return _finish("moons", [upper, lower], rng, noise, "two moons")


@register("circles", title="Circle", category="generated",
          description="A disc inside a ring (Playground's 'circle').",
          options=(samples_option(500), _noise(0.05), seed_option()))
def make_circles(n_samples: int, noise: float, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    n_outer, n_inner = _class_sizes(n_samples, 2)

    def ring(n: int, r_min: float, r_max: float) -> np.ndarray:
        radius = rng.uniform(r_min, r_max, n)
        angle = rng.uniform(0.0, 2.0 * np.pi, n)
        return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)

    # Playground's radii, scaled to a radius of 1: inner disc to 0.5, outer ring 0.7..1.
    return _finish("circles", [ring(n_outer, 0.7, 1.0), ring(n_inner, 0.0, 0.5)], rng, noise,
                   "circle")


@register("spirals", title="Spirals", category="generated",
          description="Interleaved spiral arms, one per class.",
          options=(samples_option(600), _noise(0.05), _classes(2, 8),
                   OptionSpec("turns", "float", 1.5, "Turns of each arm.", minimum=0.25,
                              maximum=5.0),
                   seed_option()))
def make_spirals(n_samples: int, noise: float, classes: int, turns: float,
                 seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    parts = []
    for k, n in enumerate(_class_sizes(n_samples, classes)):
        t = np.sqrt(rng.uniform(0.0, 1.0, n))  # sqrt: even density along the arm
        angle = 2.0 * np.pi * (turns * t + k / classes)
        parts.append(np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1))
    return _finish("spirals", parts, rng, noise, "spirals")


@register("xor", title="Exclusive or", category="generated",
          description="Points in [-1, 1]²; the class is whether x and y have the same sign.",
          options=(samples_option(500), _noise(0.05), seed_option()))
def make_xor(n_samples: int, noise: float, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    parts = []
    for same_sign, n in zip((True, False), _class_sizes(n_samples, 2), strict=True):
        # A small margin around the axes, as in Playground, keeps the classes separable.
        mag = rng.uniform(0.05, 1.0, (n, 2))
        sx = rng.choice((-1.0, 1.0), n)
        sy = sx if same_sign else -sx
        parts.append(mag * np.stack([sx, sy], axis=1))
    return _finish("xor", parts, rng, noise, "xor")


@register("blobs", title="Gaussian blobs", category="generated",
          description="One Gaussian cluster per class, centres evenly spaced on a circle.",
          options=(samples_option(500),
                   _noise(0.3, "Standard deviation of each cluster."),
                   _classes(3), seed_option()))
def make_blobs(n_samples: int, noise: float, classes: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    parts = []
    for k, n in enumerate(_class_sizes(n_samples, classes)):
        angle = 2.0 * np.pi * k / classes
        centre = np.array([np.cos(angle), np.sin(angle)])
        parts.append(np.tile(centre, (n, 1)))
    return _finish("blobs", parts, rng, noise, "Gaussian blobs")


@register("ring", title="Ring of Gaussians", category="generated",
          description="A mixture of Gaussians on a circle: the classic GAN mode-coverage test.",
          options=(samples_option(4000),
                   OptionSpec("modes", "int", 8, "Number of Gaussians on the ring.", minimum=2,
                              maximum=64),
                   OptionSpec("radius", "float", 2.0, "Radius of the ring.", minimum=0.1,
                              maximum=100.0),
                   _noise(0.02, "Standard deviation of each Gaussian."), seed_option()))
def make_ring(n_samples: int, modes: int, radius: float, noise: float, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    angles = 2.0 * np.pi * np.arange(modes) / modes
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    which = rng.integers(0, modes, n_samples)
    x = centres[which] + rng.normal(0.0, noise, size=(n_samples, 2))
    return Dataset(name="ring", x=x, y=which.astype(np.int64), target_kind="class",
                   class_names=tuple(f"mode {k}" for k in range(modes)),
                   description=f"{modes} Gaussians (σ {noise:g}) on a ring of radius {radius:g}",
                   # Evaluation counts how many of these modes a generator covers.
                   metadata={"modes": centres.tolist(), "sigma": noise})
