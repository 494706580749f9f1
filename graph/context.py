"""Whether a network drawn for sequences of one length also runs on shorter ones.

An Input's sequence length is the longest context the network takes: attention makes
its masks per call, positional tables are sliced, recurrent layers read any number of
steps. A layer whose weights were sized from the whole length (a Linear after a Flatten)
or a fixed Reshape does not follow: text generation that starts from a short prompt,
and an export with a dynamic sequence length, need to know that first. The check runs
the compiled network on the ``meta`` device (no memory, no arithmetic).
"""

from __future__ import annotations

from graph.catalog import TensorSpec
from graph.compile import Plan, compile_network, locate_error, plan_network
from graph.document import Document
from graph.shapes import torch_message


def sequence_inputs(plan: Plan) -> dict[str, int]:
    """The forward's arguments that are sequences, by name, with their (longest) length:
    token ids (T) and float sequences (T×F)."""
    return {step.name: step.out.shape[0] for step in plan.inputs
            if step.node.type == "Input" and _is_sequence(step.out)}


def _is_sequence(t: TensorSpec) -> bool:
    return (t.dtype == "long" and len(t.shape) == 1) or (t.dtype == "float" and
                                                          len(t.shape) == 2)


def shorter_context_problem(doc: Document, network: str = "main", length: int = 1) -> str | None:
    """Why ``network`` cannot run on sequences of ``length`` steps (fewer than its Input's),
    naming the layer that needs the full length; None when it can, or has no sequence.

    Raises ``graph.compile.CompileError`` when the network does not compile at all.
    """
    import torch

    plan = plan_network(doc, network)
    lengths = sequence_inputs(plan)
    if not lengths:
        return None
    with torch.device("meta"):
        module = compile_network(doc, network).to("meta").eval()
    args = []
    for step in plan.inputs:
        shape = list(step.out.shape)
        if step.name in lengths:
            shape[0] = min(length, shape[0])
        dtype = torch.long if step.out.dtype == "long" else torch.float32
        args.append(torch.zeros((1, *shape), dtype=dtype, device="meta"))
    try:
        with torch.no_grad():
            module(*args)
    except Exception as exc:  # the layer that needs the full length is named below
        longest = max(lengths.values())
        located = locate_error(module, exc)
        where = located.title if located is not None else f"network '{network}'"
        detail = located.detail if located is not None else torch_message(exc)
        return (f"network '{network}' runs only on sequences of {longest} steps: {where} "
                f"cannot take {length} ({detail})")
    return None
