"""Crash safety of saving: a process killed (SIGKILL) at a random moment while it saves
leaves the old file or the new one, never a torn one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graph.builder import NetworkBuilder
from graph.document import Document
from graph.fileformat import dumps, load_graph

ROOT = Path(__file__).resolve().parents[2]
KILLS = 50

# One saver process imports graph once and forks a child per round; the child saves the
# two versions in turn, saying so after each save, until the test kills it. Forking keeps
# 50 rounds to a few seconds.
SAVER = """
import os, sys
sys.path.insert(0, sys.argv[1])
from graph.fileformat import loads, save_graph
path = sys.argv[2]
docs = [loads(open(p, encoding="utf-8").read()) for p in sys.argv[3:5]]
save_graph(docs[0], path)
for _ in sys.stdin:
    pid = os.fork()
    if pid == 0:
        i = 1
        while True:
            save_graph(docs[i % 2], path)
            os.write(1, b"saved\\n")  # one write: a kill cannot leave half a line
            i += 1
    print(pid, flush=True)
    os.waitpid(pid, 0)
    print("reaped", flush=True)
"""


def _chain(width: int) -> Document:
    """A 100-layer chain: about 40 kB of JSON, a save of some 5 ms here."""
    doc = Document.new()
    b = NetworkBuilder(doc)
    h = b.add("Input", shape=[4], label="x")
    for i in range(100):
        h = b.add("Linear", h, out_features=width + i % 5, label=f"fc{i}")
    b.add("Output", h, label="out")
    return doc


@pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked savers (POSIX)")
def test_a_save_killed_at_any_moment_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    old, new = dumps(_chain(8)), dumps(_chain(9))
    sources = []
    for name, text in (("old", old), ("new", new)):
        sources.append(tmp_path / f"{name}.json")
        sources[-1].write_text(text, encoding="utf-8")
    folder = tmp_path / "saves"
    folder.mkdir()
    path = folder / "model.loom"
    saver = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(ROOT), str(path), *map(str, sources)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert saver.stdin is not None and saver.stdout is not None
    rng = random.Random(13)
    seen = set()
    try:
        for _ in range(KILLS):
            saver.stdin.write("go\n")
            saver.stdin.flush()
            child = int(saver.stdout.readline())
            assert saver.stdout.readline() == "saved\n"  # the child is under way
            time.sleep(rng.uniform(0.0, 0.02))  # a few saves' worth
            os.kill(child, signal.SIGKILL)
            while (line := saver.stdout.readline()) == "saved\n":
                pass
            assert line == "reaped\n"
            text = path.read_text(encoding="utf-8")
            assert text in (old, new), f"torn file: {len(text)} bytes"
            seen.add(text == new)
    finally:
        saver.kill()
        saver.communicate()  # waits, and closes the pipes (left open: a ResourceWarning)
    assert seen == {False, True}, "every kill landed on the same version"
    assert load_graph(sources[0]).to_data() != load_graph(sources[1]).to_data()
    # Temporary files left by the kills prove some landed in the middle of a write.
    assert [p for p in folder.iterdir() if p.name.endswith(".tmp")]
