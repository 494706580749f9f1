"""The README's Python snippets run as written, and its PyTorch table matches the catalog."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from graph.torch_differences import BEGIN, END, markdown

README = Path(__file__).resolve().parents[2] / "README.md"
SNIPPETS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"),
                      flags=re.S | re.M)


def test_the_pytorch_table_is_generated_from_the_catalog() -> None:
    text = README.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == markdown(), "run: python -m graph.torch_differences"


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"snippet{i}" for i in range(len(SNIPPETS))])
def test_readme_python_snippet_runs(snippet: str, tmp_path: Path) -> None:
    root = str(README.parent)
    run = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={"PYTHONPATH": root, "PATH": "/usr/bin"})
    assert run.returncode == 0, run.stderr[-3000:]


def test_there_are_snippets_to_run() -> None:
    assert len(SNIPPETS) >= 2
