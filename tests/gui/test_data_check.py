"""The Problems panel checks the Output against the data set, described off the GUI thread."""

from __future__ import annotations

import threading
from typing import Any

from graph.builder import NetworkBuilder
from graph.document import Document
from graph.training import TrainingSpec
from gui.session import Session


def sine_with_two_outputs() -> Document:
    doc = Document.new("main")
    b = NetworkBuilder(doc, "main")
    h = b.add("RNN", b.add("Input", shape=[8, 1], label="window"), hidden_size=4, label="rnn")
    b.add("Output", b.add("Linear", h, out_features=2, label="head"), label="next")
    doc.set_training(TrainingSpec.model_validate({
        "task": "regression", "loss": {"name": "mse"},
        "data": {"name": "sine", "options": {"n_samples": 32, "length": 8}}}))
    return doc


def test_problems_panel_names_the_node_feeding_the_output(window, qtbot, monkeypatch) -> None:
    import runtime.preflight

    threads: list[threading.Thread] = []
    describe = runtime.preflight.describe_data

    def recording(*args: Any) -> Any:
        threads.append(threading.current_thread())
        return describe(*args)

    monkeypatch.setattr(runtime.preflight, "describe_data", recording)
    session = Session(sine_with_two_outputs())
    window.set_session(session)
    session.start_shapes()
    problems = window.problems
    message = ("Output of 'main' gives 2 values per sample but the task regression on 'sine' "
               "has 1 target per sample: set Linear 'head' out_features to 1")
    qtbot.waitUntil(lambda: any(problems.item(i).text() == message
                                for i in range(problems.count())), timeout=10_000)
    head = next(n.id for n in session.doc.network("main").nodes() if n.label == "head")
    assert [d.node for d in session.diagnostics if d.message == message] == [head]
    assert threads and threading.main_thread() not in threads


def test_summary_panel_shows_the_memory_a_run_needs(window) -> None:
    window.summary.refresh()
    text = window.summary.totals.text()
    assert "training needs about" in text and "at batch size" in text
