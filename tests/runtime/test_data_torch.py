"""Batched augmentation and the resident-tensor batch iterator (single and sharded)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graph.training import AugmentSpec
from runtime.data.augment import Augmenter, flip_images, shift_images
from runtime.data.batches import BatchIterator


def _dot_images(n: int, size: int = 7) -> torch.Tensor:
    x = torch.zeros(n, 1, size, size)
    x[:, 0, 3, 2] = 1.0  # one bright pixel left of centre
    return x


def test_shift_moves_pixels_and_fills_with_zeros() -> None:
    x = _dot_images(3)
    out = shift_images(x, dx=torch.tensor([1, -2, 0]), dy=torch.tensor([0, 1, -1]))
    assert out[0, 0, 3, 3] == 1 and out[1, 0, 4, 0] == 1 and out[2, 0, 2, 2] == 1
    assert torch.all(out.sum(dim=(1, 2, 3)) == 1)
    ramp = torch.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    right = shift_images(ramp, torch.tensor([1]), torch.tensor([0]))
    assert right[0, 0].tolist() == [[0, 1, 2], [0, 4, 5], [0, 7, 8]]  # zero fill, content lost
    down = shift_images(ramp, torch.tensor([0]), torch.tensor([1]))
    assert down[0, 0].tolist() == [[0, 0, 0], [1, 2, 3], [4, 5, 6]]


def test_flip_mirrors_only_the_masked_images() -> None:
    x = torch.arange(12.0).reshape(2, 1, 2, 3)
    out = flip_images(x, torch.tensor([True, False]))
    assert out[0, 0].tolist() == [[2, 1, 0], [5, 4, 3]]
    assert torch.equal(out[1], x[1])


def test_augmenter_is_random_bounded_and_deterministic() -> None:
    x = _dot_images(256)
    a = Augmenter.from_spec(AugmentSpec(shift=2, flip=True), seed=7)(x)
    b = Augmenter.from_spec(AugmentSpec(shift=2, flip=True), seed=7)(x)
    c = Augmenter.from_spec(AugmentSpec(shift=2, flip=True), seed=8)(x)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.all(a.sum(dim=(1, 2, 3)) == 1)  # the dot never leaves a 7×7 image here
    rows, cols = torch.nonzero(a[:, 0], as_tuple=True)[1:]
    assert set(rows.tolist()) == {1, 2, 3, 4, 5}  # 3 ± 2
    # column: 2 ± 2, or mirrored (6 - 2 = 4) ± 2, so all of 0..6 occur
    assert set(cols.tolist()) == set(range(7))
    off = Augmenter(0, False)
    assert not off.enabled and off(x) is x
    with pytest.raises(ValueError, match="image batches"):
        Augmenter(1, False)(torch.zeros(4, 3))


def test_augmenter_is_fast_enough_for_every_step() -> None:
    import time

    x = torch.rand(128, 1, 28, 28)
    augment = Augmenter(shift=3, flip=True, generator=torch.Generator().manual_seed(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # intra-op threads on a busy machine make timings erratic
    try:
        times = []
        for _ in range(21):
            start = time.perf_counter()
            augment(x)
            times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    # ~0.4 ms on one core; the bound is loose so that only gross slowdowns fail.
    assert sorted(times)[10] < 0.01


def _labels(it: BatchIterator) -> list[int]:
    """The targets of one epoch, in visiting order."""
    return [int(v) for _, yb in it for v in yb]


def test_every_sample_once_per_epoch_and_epochs_differ() -> None:
    x = np.arange(10, dtype=np.float32)[:, None]
    it = BatchIterator(x, np.arange(10), batch_size=4, seed=1)
    assert len(it) == 3
    first = [(xb[:, 0].long().tolist(), yb.tolist()) for xb, yb in it]
    assert [len(y) for _, y in first] == [4, 4, 2]
    seen = [v for _, y in first for v in y]
    assert sorted(seen) == list(range(10)) and all(xs == ys for xs, ys in first)
    second = _labels(it)  # the next epoch: a new order
    assert sorted(second) == list(range(10)) and second != seen
    it.set_epoch(0)
    assert _labels(it) == seen
    same_seed = BatchIterator(x, np.arange(10), batch_size=4, seed=1)
    assert _labels(same_seed) == seen
    other_seed = BatchIterator(x, np.arange(10), batch_size=4, seed=2)
    assert _labels(other_seed) != seen


def test_drop_last_unshuffled_and_unlabelled() -> None:
    it = BatchIterator(np.zeros((10, 2), np.float32), None, batch_size=4, shuffle=False,
                       drop_last=True)
    batches = list(it)
    assert len(it) == 2 and len(batches) == 2 and all(yb is None for _, yb in batches)
    assert [b.tolist() for b in it.index_batches(0)] == [[0, 1, 2, 3], [4, 5, 6, 7]]


@pytest.mark.parametrize("n", [12, 11])
def test_ranks_see_disjoint_shards_of_one_permutation(n: int) -> None:
    y = np.arange(n)
    ranks = [BatchIterator(np.zeros((n, 1), np.float32), y, batch_size=2, seed=5, rank=r,
                           world_size=3) for r in range(3)]
    for epoch in (0, 1):
        shards = []
        for it in ranks:
            it.set_epoch(epoch)
            shards.append(_labels(it))
        assert len({len(s) for s in shards}) == 1 and len({len(it) for it in ranks}) == 1
        everything = [v for shard in shards for v in shard]
        assert sorted(set(everything)) == list(range(n))
        if n % 3 == 0:
            assert len(everything) == n  # disjoint: no sample on two ranks
        else:
            assert len(everything) == 12  # padded by repeating one sample
    dropped = [BatchIterator(np.zeros((n, 1), np.float32), y, batch_size=2, seed=5, rank=r,
                             world_size=3, uneven="drop") for r in range(3)]
    kept = [v for it in dropped for v in _labels(it)]
    assert len(kept) == 3 * (n // 3) and len(set(kept)) == len(kept)


def test_batches_live_on_the_requested_device() -> None:
    it = BatchIterator(np.ones((5, 3), np.float32), np.arange(5), batch_size=5, device="cpu")
    xb, yb = next(iter(it))
    assert xb.device.type == "cpu" and xb.dtype == torch.float32 and yb.dtype == torch.int64
    with pytest.raises(ValueError, match="rank 3 is outside"):
        BatchIterator(np.ones((5, 3)), None, 2, rank=3, world_size=2)


def test_images_reshaped_for_the_input_are_augmented_as_images() -> None:
    """Digits read row by row (Input 8×8) still shift as 1×8×8 images."""
    from helpers import training

    from graph import Document, NetworkBuilder
    from runtime.run_data import load_run_data
    from runtime.trainer import RunOptions

    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("LSTM", b.add("Input", shape=[8, 8]), hidden_size=8)
    b.add("Output", b.add("Linear", h, out_features=10))
    spec = training(task="classification", data={"name": "digits", "augment": {"shift": 2}})
    data = load_run_data(doc, spec, torch.device("cpu"))
    plain = spec.model_copy(update={"data": spec.data.model_copy(
        update={"augment": AugmentSpec()})})
    shifted = next(iter(data.epoch_batches(0, spec, RunOptions())))[0]
    original = next(iter(data.epoch_batches(0, plain, RunOptions())))[0]
    assert shifted.shape == original.shape == (32, 8, 8)
    assert not torch.equal(shifted, original)
    # Each image moved whole, as an image: some shift of its rows and columns gives it.
    offsets = [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3)]
    for before, after in zip(original, shifted, strict=True):
        image = before.reshape(1, 1, 8, 8)
        assert any(torch.equal(shift_images(image, torch.tensor([dx]), torch.tensor([dy]))
                               .reshape(8, 8), after) for dx, dy in offsets)


def test_augmenting_data_that_are_not_images_is_refused_up_front() -> None:
    from helpers import moons_mlp

    from runtime.data import DataError
    from runtime.run_data import load_run_data

    doc = moons_mlp(data={"name": "moons", "augment": {"shift": 1}})
    with pytest.raises(DataError, match=r"works on images; moons has samples of shape \(2,\)"):
        load_run_data(doc, doc.training, torch.device("cpu"))
