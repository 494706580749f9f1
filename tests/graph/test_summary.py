"""The summary table: shapes, parameter counts and FLOPs checked against hand counts."""

from __future__ import annotations

import pytest

from graph import Document, NetworkBuilder
from graph.summary import format_count, format_flops, format_summary, summarize

# Input 1×8×8 → Conv2d(4, k3, pad 1) → BatchNorm2d → ReLU → MaxPool2d(2) → Flatten
# → Linear(64 → 10) → Output
CONV_PARAMS = 4 * 1 * 3 * 3 + 4  # weights + biases
CONV_FLOPS = 2 * (4 * 1 * 3 * 3) * (8 * 8)  # a multiply-add per weight per output pixel
BN_PARAMS = 2 * 4  # scale and shift per channel
FC_PARAMS = 64 * 10 + 10
FC_FLOPS = 2 * 64 * 10


def small_cnn(frozen_fc: bool = False) -> Document:
    doc = Document.new()
    b = NetworkBuilder(doc)
    x = b.add("Input", shape=[1, 8, 8], label="image")
    h = b.add("Conv2d", x, out_channels=4, kernel_size=3, padding=1, label="conv")
    h = b.add("ReLU", b.add("BatchNorm2d", h, label="bn"), label="act")
    h = b.add("Flatten", b.add("MaxPool2d", h, kernel_size=2, label="pool"), label="flat")
    h = b.add("Linear", h, out_features=10, trainable=not frozen_fc, label="fc")
    b.add("Output", h, label="out")
    return doc


def test_rows_follow_the_network_with_hand_counted_numbers() -> None:
    rows = summarize(small_cnn(), "main")
    assert [r.label for r in rows] == ["image", "conv", "bn", "act", "pool", "flat", "fc", "out"]
    by_label = {r.label: r for r in rows}
    assert by_label["conv"].params == CONV_PARAMS
    assert by_label["conv"].flops == CONV_FLOPS
    assert by_label["bn"].params == BN_PARAMS
    assert by_label["fc"].params == FC_PARAMS
    assert by_label["fc"].flops == FC_FLOPS
    assert by_label["pool"].shape_text == "N×4×4×4"
    assert by_label["fc"].shape_text == "N×10"
    assert by_label["fc"].layer == "Linear"
    assert sum(r.flops or 0 for r in rows) == CONV_FLOPS + FC_FLOPS


def test_linear_flops_are_two_per_weight() -> None:
    doc = Document.new()
    b = NetworkBuilder(doc)
    b.add("Output", b.add("Linear", b.add("Input", shape=[37]), out_features=23, label="fc"))
    row = next(r for r in summarize(doc, "main") if r.label == "fc")
    assert row.flops == 2 * 37 * 23


def test_totals_split_trainable_and_frozen() -> None:
    text = format_summary(small_cnn(frozen_fc=True))
    total = CONV_PARAMS + BN_PARAMS + FC_PARAMS
    trainable = CONV_PARAMS + BN_PARAMS
    assert f"Total params: {total:,} (trainable {trainable:,}, frozen {FC_PARAMS:,})" in text
    assert f"Total FLOPs: {format_flops(CONV_FLOPS + FC_FLOPS)} per sample" in text
    assert "Network 'main'" in text
    fc_line = next(line for line in text.splitlines() if line.startswith("fc "))
    assert fc_line.split()[1:] == ["Linear", "N×10", "650", "1.3", "K"]


def test_unknown_shapes_show_question_marks() -> None:
    doc = small_cnn()
    doc.add_node("main", "Linear", label="stray")
    row = next(r for r in summarize(doc, "main") if r.label == "stray")
    assert row.out is None and row.flops is None and row.shape_text == "?"
    assert "incomplete" in format_summary(doc)


def test_every_network_gets_a_table() -> None:
    doc = small_cnn()
    b = NetworkBuilder(doc, "other")
    b.add("Output", b.add("Linear", b.add("Input", shape=[3]), out_features=2))
    text = format_summary(doc)
    assert text.index("Network 'main'") < text.index("Network 'other'")
    assert text.count("Total params") == 2


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0"), (950, "950"), (1234, "1.2 K"), (3_400_000, "3.4 M"), (3_400_000_000, "3.4 G"),
     (2_500_000_000_000, "2.5 T"), (None, "?")],
)
def test_format_flops(n: int | None, text: str) -> None:
    assert format_flops(n) == text


def test_format_count() -> None:
    assert format_count(1234567) == "1,234,567"


def test_layers_with_shape_rules_still_count_their_flops() -> None:
    from graph.builder import NetworkBuilder
    from graph.document import Document
    from graph.summary import summarize

    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("Input", shape=[4, 16])
    enc = b.add("TransformerEncoderLayer", h, nhead=2, dim_feedforward=32)
    att = b.add("MultiheadAttention", enc, num_heads=2)
    lin = b.add("Linear", att, out_features=8)
    relu = b.add("ReLU", lin)
    b.add("Output", relu)
    rows = {row.node: row for row in summarize(doc, "main")}
    assert rows[enc].flops and rows[att].flops and rows[lin].flops == 2 * 4 * 16 * 8
    assert rows[relu].flops == 0
