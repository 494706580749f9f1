"""The program's ``--traceback``: a bug's whole traceback, wherever the option is typed."""

from __future__ import annotations

from pathlib import Path

import pytest

import main

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "mlp_moons.loom"


def _broken(*args: object, **kwargs: object) -> None:
    raise RuntimeError("boom")


@pytest.mark.parametrize("where", [0, 1, 2], ids=["before", "after-subcommand", "last"])
def test_traceback_reaches_the_command_line_from_any_position(
    where: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("graph.validate.validate", _broken)
    argv = ["validate", str(EXAMPLE)]
    assert main.main(argv) == 1
    assert "unexpected RuntimeError: boom (run again with --traceback" in capsys.readouterr().err
    argv.insert(where, "--traceback")
    with pytest.raises(RuntimeError, match="boom"):
        main.main(argv)
