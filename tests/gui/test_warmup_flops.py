"""The background warm-up counts FLOPs once, so the first count's lazy imports
(torch._dynamo: seconds) never happen on the GUI thread when the Summary refreshes."""

from __future__ import annotations

from graph.summary import _layer_flops
from gui.warmup import _warm_shapes


def test_warmup_counts_flops_off_the_gui_thread() -> None:
    _layer_flops.cache_clear()
    _warm_shapes()
    assert _layer_flops.cache_info().currsize > 0
