"""Batched image augmentation on the training device: random shifts and horizontal flips.

It runs on every training step, so it is a handful of tensor ops on the whole
batch (a pad and one indexing copy for shifts, one ``where`` for flips) and never
a Python loop over samples. Random draws come from a ``torch.Generator`` so a run
is reproducible from its training seed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from graph.training import AugmentSpec


def shift_images(x: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Move each image ``(N, C, H, W)`` right by ``dx[i]`` and down by ``dy[i]`` pixels.

    Pixels moved in from outside are zero. ``|dx|``, ``|dy|`` must be below the image size.
    """
    n, _, h, w = x.shape
    k = int(max(dx.abs().max(), dy.abs().max())) if n else 0
    if k == 0:
        return x
    # Every shifted image is an H×W window of the zero-padded batch; unfold exposes all
    # windows as a view (no copy), and one indexing op copies out each sample's window.
    windows = F.pad(x, (k, k, k, k)).unfold(2, h, 1).unfold(3, w, 1)
    dx, dy = dx.to(x.device), dy.to(x.device)
    return windows[torch.arange(n, device=x.device), :, k - dy, k - dx]


def flip_images(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mirror left–right the images where ``mask`` is true."""
    return torch.where(mask.to(x.device)[:, None, None, None], x.flip(-1), x)


class Augmenter:
    """Random shift by up to ``shift`` pixels and/or random horizontal flip of image batches.

    Draws are made on the generator's device (CPU by default) and the small offset
    tensors moved to the batch's device, so any generator works with any batch.
    """

    def __init__(self, shift: int = 0, flip: bool = False,
                 generator: torch.Generator | None = None) -> None:
        if shift < 0:
            raise ValueError(f"shift must be non-negative, got {shift}")
        self.shift = shift
        self.flip = flip
        self.generator = generator if generator is not None else torch.Generator()

    @classmethod
    def from_spec(cls, spec: AugmentSpec, seed: int) -> Augmenter:
        """An augmenter seeded from the training seed."""
        return cls(spec.shift, spec.flip, torch.Generator().manual_seed(seed))

    @property
    def enabled(self) -> bool:
        return self.shift > 0 or self.flip

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"augmentation expects image batches (N, C, H, W), got {x.shape}")
        n = x.shape[0]
        device = self.generator.device
        if self.shift > 0:
            offsets = torch.randint(-self.shift, self.shift + 1, (2, n),
                                    generator=self.generator, device=device)
            x = shift_images(x, offsets[0], offsets[1])
        if self.flip:
            mask = torch.rand(n, generator=self.generator, device=device) < 0.5
            x = flip_images(x, mask)
        return x
