"""Worker threads never run the cyclic collector: it stays off until the GUI thread has
seen every worker end (a collection on a worker can delete Qt objects off their thread)."""

from __future__ import annotations

import gc
import threading

from gui.background import start_worker, workers_running


def test_the_collector_stays_off_until_every_worker_has_ended(qtbot):
    first, second = threading.Event(), threading.Event()
    start_worker(first.wait, 30, name="first")
    start_worker(second.wait, 30, name="second")
    assert not gc.isenabled() and workers_running()
    first.set()
    qtbot.wait(300)  # the GUI thread sees the first end
    assert not gc.isenabled()  # the second still runs
    second.set()
    qtbot.waitUntil(gc.isenabled, timeout=5000)
    assert not workers_running()


def test_the_data_check_and_text_writer_start_their_threads_this_way():
    import inspect

    from gui import data_check, generation

    for module in (data_check, generation):
        source = inspect.getsource(module)
        assert "start_worker(" in source and "threading.Thread(" not in source
