"""Shuffled mini-batches over tensors kept whole on the training device.

For data sets of a few thousand samples, indexing one resident tensor is far
faster than a ``DataLoader`` (no worker processes, no per-sample collation,
one host-to-device copy per run instead of per batch).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

Batch = tuple[torch.Tensor, torch.Tensor | None]


def epoch_seed(seed: int, epoch: int) -> int:
    """A generator seed for one epoch; distinct for every (seed, epoch) pair."""
    state = np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0]
    return int(state) >> 1  # torch seeds must fit in a signed 64-bit integer


class BatchIterator:
    """Yield ``(x, y)`` batches; a fresh permutation per epoch, seeded from the training seed.

    With ``world_size > 1`` each ``rank`` gets a disjoint shard of the same epoch
    permutation (every rank computes it from the shared seed). ``uneven="pad"`` repeats
    the first samples of the permutation so every rank has the same number of samples;
    ``"drop"`` leaves the last few out. Each iteration uses the current epoch and then
    advances it; :meth:`set_epoch` chooses an epoch explicitly (e.g. when resuming).
    """

    def __init__(self, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor | None,
                 batch_size: int, *, seed: int = 0, shuffle: bool = True,
                 drop_last: bool = False, device: torch.device | str | None = None,
                 rank: int = 0, world_size: int = 1, uneven: str = "pad") -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside world_size {world_size}")
        if uneven not in ("pad", "drop"):
            raise ValueError(f"uneven must be 'pad' or 'drop', got {uneven!r}")
        self.x = torch.as_tensor(x, device=device)
        self.y = torch.as_tensor(y, device=self.x.device) if y is not None else None
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"{len(self.x)} inputs but {len(self.y)} targets")
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rank = rank
        self.world_size = world_size
        self.uneven = uneven
        self.epoch = 0

    @property
    def num_samples(self) -> int:
        """Samples this rank sees per epoch (padding included)."""
        n = len(self.x)
        if self.uneven == "drop":
            return n // self.world_size
        return -(-n // self.world_size)

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return -(-self.num_samples // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def epoch_indices(self, epoch: int) -> torch.Tensor:
        """This rank's sample indices for ``epoch``, in visiting order (on the CPU)."""
        n = len(self.x)
        if self.shuffle:
            generator = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
            order = torch.randperm(n, generator=generator)
        else:
            order = torch.arange(n)
        total = self.num_samples * self.world_size
        if total > n:  # pad by wrapping around, as DistributedSampler does
            order = torch.cat([order, order[: total - n]])
        # Strided shards: rank r takes positions r, r + W, r + 2W, ... of the permutation.
        return order[self.rank:total:self.world_size]

    def index_batches(self, epoch: int | None = None) -> list[torch.Tensor]:
        """The index batches of one epoch, on the data's device."""
        indices = self.epoch_indices(self.epoch if epoch is None else epoch).to(self.x.device)
        batches = list(indices.split(self.batch_size))
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        return batches

    def __iter__(self) -> Iterator[Batch]:
        batches = self.index_batches(self.epoch)
        self.epoch += 1
        for index in batches:
            yb = self.y.index_select(0, index) if self.y is not None else None
            yield self.x.index_select(0, index), yb
