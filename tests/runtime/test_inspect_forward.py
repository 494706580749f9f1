"""Forward records: each node's output for one sample, as the canvas draws it."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import moons_mlp

from graph import Document, NetworkBuilder
from graph.compile import compile_network
from runtime.inspect.forward import forward_records, output_node_id


def test_vectors_equal_a_plain_forward_in_execution_order() -> None:
    doc = moons_mlp()
    module = compile_network(doc).eval()
    x = torch.randn(5, 2)
    records = forward_records(module, x, sample=3, output_id=output_node_id(doc, "main"))
    net = doc.network("main")
    assert [net.node(i).label for i in records] == ["point", "fc1", "relu", "fc2", "out"]
    hidden = module.fc1(x[3]).detach()
    by_label = {net.node(i).label: r for i, r in records.items()}
    assert by_label["fc1"]["kind"] == "vector" and by_label["fc1"]["reduced"] == ""
    assert by_label["fc1"]["values"] == pytest.approx(hidden.tolist(), rel=1e-6, abs=1e-7)
    assert by_label["relu"]["mean"] == pytest.approx(float(hidden.relu().mean()), rel=1e-6)
    scores = module(x)[3].detach()
    assert by_label["out"]["values"] == pytest.approx(scores.tolist(), rel=1e-6, abs=1e-7)
    assert by_label["point"]["shape"] == [2]
    json.dumps(records)  # records cross a process boundary as plain data


def _conv_doc(size: int) -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[3, size, size], label="image")
    h = b.add("Conv2d", x, out_channels=12, kernel_size=3, padding=1, label="conv")
    h = b.chain(h, ("Flatten", {}), ("Linear", {"out_features": 100, "label": "wide"}))
    b.add("Output", h)
    return doc


def test_feature_maps_are_cut_to_eight_channels_of_at_most_16_by_16() -> None:
    module = compile_network(_conv_doc(32)).eval()
    x = torch.randn(2, 3, 32, 32)
    records = forward_records(module, x)
    conv = next(r for r in records.values() if r["shape"] == [12, 32, 32])
    assert conv["kind"] == "image"
    values = conv["values"]
    assert len(values) == 8 and len(values[0]) == 16 and len(values[0][0]) == 16
    pooled = torch.nn.functional.avg_pool2d(module.conv(x)[0, :1].detach(), 2)
    assert values[0][0][0] == pytest.approx(float(pooled[0, 0, 0]), rel=1e-5)
    assert "first 8 of 12 channels" in conv["reduced"] and "32×32 to 16×16" in conv["reduced"]
    wide = next(r for r in records.values() if r["shape"] == [100])
    assert len(wide["values"]) == 64 and "averaged into 64 bars" in wide["reduced"]
    assert wide["std"] == pytest.approx(float(module(x)[0].detach().std(unbiased=False)), rel=1e-5)


def test_sequences_become_heat_maps_of_at_most_32_by_32() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("Linear", b.add("Input", shape=[40, 6], label="steps"), out_features=8)
    b.add("Output", h)
    module = compile_network(doc).eval()
    records = forward_records(module, torch.randn(1, 40, 6))
    first = records[module.input_ids[0]]
    assert first["kind"] == "sequence" and len(first["values"]) == 32
    assert "40×6 to 32×6" in first["reduced"]
    layer = next(r for r in records.values() if r["shape"] == [40, 8])
    assert len(layer["values"]) == 32 and len(layer["values"][0]) == 8
