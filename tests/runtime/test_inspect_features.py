"""What the layers learn: first-layer filters, feature maps of the probe input and the
validation samples that activate a unit most, against plain torch on the same weights."""

from __future__ import annotations

import json

import pytest
import torch

from runtime.inspect.features import LIVE, Limits, features_record, top_inputs
from runtime.inspect.model import inspect_model
from runtime.trainer import RunOptions, Trainer
from tests.runtime.helpers import digits_cnn


def _ids(doc: object) -> dict[str, str]:
    return {n.label: n.id for n in doc.network("main").nodes()}  # type: ignore[attr-defined]


def test_filters_and_maps_are_the_weights_and_outputs_of_the_layers() -> None:
    model = inspect_model(digits_cnn())
    module, ids = model.main, _ids(model.doc)
    x = model.data.val_x[:64]
    module.train()  # as the trainer leaves it: the record is computed in eval mode
    record = features_record(module, x, Limits(samples=3, channels=2, side=3, values=10_000),
                             model.doc, "main", live=True)
    assert module.training
    conv = module.get_submodule("conv")
    assert record["filters"]["node"] == ids["conv"]
    assert record["filters"]["shape"] == [4, 1, 3, 3]
    assert torch.allclose(torch.tensor(record["filters"]["values"]), conv.weight, atol=1e-4)
    pool = next(n.id for n in model.doc.network("main").nodes() if n.type == "MaxPool2d")
    assert list(record["maps"]) == [ids["conv"], pool]  # live: convolutions and poolings
    assert record["samples"] == 3
    with torch.no_grad():
        conv_out = conv(x[:3])  # 3 × 4 × 8 × 8
    maps = record["maps"][ids["conv"]]
    assert maps["channels"] == 4 and maps["size"] == [8, 8]
    shrunk = torch.nn.functional.adaptive_avg_pool2d(conv_out[:, :2], 3)  # 2 channels, 3×3
    assert torch.allclose(torch.tensor(maps["values"]), shrunk, atol=1e-4)
    assert torch.allclose(torch.tensor(record["inputs"]), x[:3], atol=1e-4)

    at_rest = features_record(module, x, Limits(samples=8, channels=16, side=28,
                                                values=10_000), model.doc, "main")
    assert len(at_rest["maps"]) == 4  # every image-shaped output: conv, norm, ReLU, pool
    assert at_rest["samples"] == 8


def test_a_record_fits_its_budget_by_showing_fewer_samples() -> None:
    model = inspect_model(digits_cnn())
    x = model.data.val_x[:64]
    # one sample: 4 channels of 8×8 (conv) and of 4×4 (pool), 320 values
    for budget, samples in ((300, 1), (700, 2), (10_000, 4)):
        limits = Limits(samples=4, channels=4, side=8, values=budget)
        record = features_record(model.main, x, limits, model.doc, "main", live=True)
        assert record["samples"] == samples
        assert all(len(m["values"]) == samples for m in record["maps"].values())


@pytest.mark.parametrize(("label", "unit"), [("conv", 2), ("head", 7)])
def test_top_inputs_are_the_samples_where_the_unit_is_largest(label: str, unit: int) -> None:
    model = inspect_model(digits_cnn())
    module = model.main
    attr = next(a for a, n in module.node_ids.items() if n == _ids(model.doc)[label])
    with torch.no_grad():
        seen: list[torch.Tensor] = []
        handle = module.get_submodule(attr).register_forward_hook(
            lambda _m, _i, out: seen.append(out) and None)
        module(model.data.val_x)
        handle.remove()
    out = seen[0]
    score = out[:, unit].mean(dim=(1, 2)) if out.dim() == 4 else out[:, unit]
    expected = torch.argsort(score, descending=True, stable=True)[:9]
    found = top_inputs(module, _ids(model.doc)[label], unit, model.data)
    assert found["indices"] == expected.tolist()
    assert found["split"] == "validation" and found["input_kind"] == "image"
    assert torch.allclose(torch.tensor(found["activations"]), score[expected], atol=1e-4)
    assert found["labels"] == [str(c) for c in model.data.val_y[expected].tolist()]  # digits
    assert torch.allclose(torch.tensor(found["inputs"]), model.data.val_x[expected], atol=1e-4)
    with pytest.raises(ValueError, match="unit 99 does not exist: this layer has"):
        top_inputs(module, _ids(model.doc)[label], 99, model.data)


def test_a_run_streams_small_feature_records() -> None:
    events: list[dict] = []
    Trainer(digits_cnn(epochs=1), RunOptions(max_steps_per_epoch=1, step_interval=0),
            sink=events.append).run()
    records = [e for e in events if e["type"] == "features"]
    assert [e["epoch"] for e in records] == [1]  # each epoch: the window's test sees two
    last = records[-1]
    assert last["samples"] == LIVE.samples and len(last["labels"]) == LIVE.samples
    assert len(json.dumps(last)) < 30_000  # it crosses a process boundary each epoch
