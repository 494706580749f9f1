"""Where a catalog layer differs from its ``torch.nn`` namesake, read from the specs.

The README's "Coming from PyTorch" table is this module's output
(``python -m graph.torch_differences``); a test keeps the two equal, so a
changed default cannot leave the README behind.
"""

from __future__ import annotations

import sys

from graph.catalog import catalog

BEGIN = "<!-- torch-differences:begin (python -m graph.torch_differences) -->"
END = "<!-- torch-differences:end -->"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def rows() -> list[tuple[str, str, str, str]]:
    """(layer, parameter or "", Layerloom's default or behaviour, PyTorch's)."""
    out: list[tuple[str, str, str, str]] = []
    for spec in catalog():
        for p in spec.all_params:
            if p.torch_default:
                out.append((spec.id, p.name, _value(p.default), p.torch_default))
        if spec.torch_note:
            out.append((spec.id, "", spec.torch_note, ""))
    return out


def markdown() -> str:
    lines = [BEGIN, "", "| layer | parameter | Layerloom | PyTorch |", "| --- | --- | --- | --- |"]
    for layer, param, ours, theirs in rows():
        lines.append(f"| {layer} | {param or '—'} | {ours} | {theirs or '—'} |")
    lines += ["", END]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(markdown() + "\n")
