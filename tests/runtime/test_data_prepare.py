"""Splits, normalisation fitted on the train split, and the preprocessing record."""

from __future__ import annotations

import json

import numpy as np
import pytest

from graph.training import AugmentSpec, DataSpec, SplitSpec
from runtime.data import (
    DataError,
    Dataset,
    Preprocessing,
    fit_preprocessing,
    prepare,
    prepare_dataset,
    split_indices,
)
from runtime.data.preprocess import fit_statistics


def _spec(name: str = "digits", **kwargs: object) -> DataSpec:
    return DataSpec.model_validate({"name": name, **kwargs})


def test_splits_are_reproducible_disjoint_and_seeded() -> None:
    spec = SplitSpec(train=0.6, val=0.2, test=0.2, seed=5)
    a, b = split_indices(100, spec), split_indices(100, spec)
    assert all(np.array_equal(a.as_dict()[k], b.as_dict()[k]) for k in ("train", "val", "test"))
    assert (len(a.train), len(a.val), len(a.test)) == (60, 20, 20)
    together = np.concatenate([a.train, a.val, a.test])
    assert sorted(together.tolist()) == list(range(100))  # disjoint and complete
    other = split_indices(100, spec.model_copy(update={"seed": 6}))
    assert not np.array_equal(a.test, other.test)


def test_stratified_split_keeps_class_proportions() -> None:
    labels = np.array([0] * 80 + [1] * 20)
    spec = SplitSpec(train=0.5, val=0.25, test=0.25, seed=1)
    rows = split_indices(100, spec, labels)
    for part in (rows.train, rows.val, rows.test):
        assert np.mean(labels[part] == 1) == pytest.approx(0.2)
    assert sorted(np.concatenate([rows.train, rows.val, rows.test]).tolist()) == list(range(100))
    three = np.repeat([0, 1, 2], [50, 30, 23])  # shares that do not divide evenly
    uneven = split_indices(103, spec, three)
    assert (len(uneven.train), len(uneven.val), len(uneven.test)) == (51, 26, 26)
    for part in (uneven.val, uneven.test):
        assert np.abs(np.bincount(three[part], minlength=3) - [12.6, 7.6, 5.8]).max() < 1
    plain = [np.mean(labels[split_indices(100, spec.model_copy(update={"seed": s})).test])
             for s in range(20)]
    assert max(plain) - min(plain) > 0.05  # unstratified splits wander; the check is real


def test_val_may_be_empty_and_tiny_sets_are_refused() -> None:
    ds = prepare(_spec("iris", split={"train": 0.8, "val": 0.0, "test": 0.2}), "classification")
    assert len(ds.val) == 0 and ds.val.x.shape == (0, 4) and len(ds.train) + len(ds.test) == 150
    with pytest.raises(DataError, match="too few"):
        split_indices(2, SplitSpec(train=0.4, val=0.3, test=0.3))
    # a class too small to share stays in train instead of failing the split
    lonely = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    rows = split_indices(10, SplitSpec(train=0.6, val=0.2, test=0.2), lonely)
    assert (len(rows.train), len(rows.val), len(rows.test)) == (6, 2, 2) and 9 in rows.train


def _shifted_dataset() -> Dataset:
    """Rows 0..49 around 0, rows 50..99 around 100: train and test statistics differ."""
    x = np.concatenate([np.random.default_rng(0).normal(0, 1, (50, 3)),
                        np.random.default_rng(1).normal(100, 5, (50, 3))])
    return Dataset(name="shifted", x=x, y=np.arange(100) % 2, target_kind="class")


@pytest.mark.parametrize("kind", ["standard", "minmax", "unit", "symmetric"])
def test_statistics_come_from_the_train_split_only(kind: str) -> None:
    ds = _shifted_dataset()
    train = np.arange(50)
    record = fit_preprocessing(ds, train, kind)
    out = record.apply(ds.x[train])
    if kind == "standard":
        assert np.allclose(out.mean(axis=0), 0, atol=1e-5) and np.allclose(out.std(axis=0), 1)
    else:
        low = -1.0 if kind == "symmetric" else 0.0
        assert np.allclose(out.min(axis=0), low) and np.allclose(out.max(axis=0), 1.0)
    # the held-out rows were not seen: they land far outside the train range
    assert record.apply(ds.x[50:]).mean() > 10


def test_prepare_fits_on_train_rows() -> None:
    ds = _shifted_dataset()
    spec = _spec(split={"seed": 3})
    rows = split_indices(len(ds), spec.split, ds.y)  # the split prepare will make
    ds.x[rows.test[0]] = 1e6  # an outlier that only the test split holds
    prepared = prepare_dataset(ds, spec, "classification")
    assert np.array_equal(prepared.test.indices, rows.test)
    raw_train = ds.x[prepared.train.indices]
    assert np.allclose(prepared.preprocessing.offset, raw_train.mean(axis=0), atol=1e-3)
    record = prepared.preprocessing
    assert np.all(record.offset < 200) and np.all(record.scale < 200)
    assert np.allclose(prepared.test.x, prepared.preprocessing.apply(ds.x[prepared.test.indices]))


def test_image_normalisation_is_per_channel_and_unit_uses_known_range() -> None:
    x = np.zeros((4, 2, 3, 3), dtype=np.float32)
    x[:, 0] = np.arange(4)[:, None, None]
    x[:, 1] = 10 * np.arange(4)[:, None, None] + 5
    offset, scale = fit_statistics(x, "standard", "image")
    assert offset.shape == (2, 1, 1)
    assert offset.ravel().tolist() == pytest.approx([1.5, 20.0])
    spread = np.std(np.arange(4))
    assert scale.ravel().tolist() == pytest.approx([spread, 10 * spread])
    offset, scale = fit_statistics(x, "unit", "image", value_range=(0.0, 255.0))
    assert np.all(offset == 0) and np.all(scale == 255)
    offset, scale = fit_statistics(x, "symmetric", "image", value_range=(0.0, 16.0))
    assert np.all(offset == 8) and np.all(scale == 8)


def test_digits_unit_and_symmetric() -> None:
    unit = prepare(_spec(normalize="unit"), "classification")
    assert unit.train.x.min() == 0 and unit.train.x.max() == 1
    assert unit.preprocessing.scale.ravel().tolist() == [16.0]
    symmetric = prepare(_spec(normalize="symmetric"), "gan")
    assert symmetric.train.x.min() == -1 and symmetric.train.x.max() == 1
    assert unit.train.x.shape[1:] == (1, 8, 8) and unit.train.x.dtype == np.float32


def test_preprocessing_round_trips_through_json_and_inverts() -> None:
    prepared = prepare(_spec("wine", split={"seed": 2}), "classification")
    record = prepared.preprocessing
    copy = Preprocessing.from_dict(json.loads(json.dumps(record.to_dict())))
    assert copy.to_dict() == record.to_dict()
    assert copy.class_names == ("class_0", "class_1", "class_2") and copy.sample_shape == (13,)
    raw = prepared.dataset.x[prepared.test.indices]
    assert np.allclose(copy.apply(raw), prepared.test.x, atol=1e-5)
    assert np.allclose(copy.invert(prepared.test.x), raw, rtol=1e-4, atol=1e-3)
    assert np.allclose(copy.apply(raw[0]), prepared.test.x[0], atol=1e-5)  # one sample
    with pytest.raises(DataError, match=r"expected samples of shape \(13,\)"):
        copy.apply(np.zeros((2, 12)))


def test_preprocessing_applies_to_torch_tensors() -> None:
    torch = pytest.importorskip("torch")
    prepared = prepare(_spec("iris"), "classification")
    raw = prepared.dataset.x[prepared.val.indices]
    out = prepared.preprocessing.apply(torch.from_numpy(raw))
    assert isinstance(out, torch.Tensor)
    assert np.allclose(out.numpy(), prepared.val.x, atol=1e-5)


def test_tokens_are_never_normalised() -> None:
    prepared = prepare(_spec("reverse", normalize="standard"), "classification")
    assert prepared.preprocessing.kind == "none" and prepared.train.x.dtype == np.int64
    assert np.array_equal(prepared.train.x, prepared.dataset.x[prepared.train.indices])
    assert prepared.preprocessing.vocab_size == 10


def test_sequences_normalise_per_feature_and_report_the_baseline() -> None:
    prepared = prepare(_spec("sine", options={"n_samples": 300}), "regression")
    assert prepared.preprocessing.offset.shape == (1, 1)
    assert set(prepared.baselines) == {"train", "val", "test"}
    assert 0 < prepared.baselines["test"] < 1
    assert prepared.train.y.dtype == np.float32  # targets stay in raw units


def test_tasks_check_the_targets() -> None:
    with pytest.raises(DataError, match="class targets; use classification"):
        prepare(_spec("iris"), "regression")
    with pytest.raises(DataError, match="continuous targets; use regression"):
        prepare(_spec("sine"), "classification")
    with pytest.raises(DataError, match="unknown task"):
        prepare(_spec("iris"), "clustering")
    whole = Dataset(name="t", x=np.zeros((20, 2)), y=np.arange(20.0) % 2 + 3,
                    target_kind="value")
    prepared = prepare_dataset(whole, _spec(), "classification")
    assert prepared.preprocessing.class_names == ("3", "4")
    assert set(prepared.train.y.tolist()) == {0, 1}


def test_augmentation_needs_images() -> None:
    with pytest.raises(DataError, match=r"augmentation .* works on images"):
        prepare(_spec("iris", augment=AugmentSpec(shift=1)), "classification")
    with pytest.raises(DataError, match="shift of 8 pixels"):
        prepare(_spec("digits", augment=AugmentSpec(shift=8)), "classification")
    prepared = prepare(_spec("digits", augment=AugmentSpec(shift=2, flip=True)), "classification")
    assert len(prepared.train) > 0
