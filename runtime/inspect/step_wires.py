"""Hooks that follow one forward and backward pass of a compiled network, wire by wire.

Each node's output is kept (in the order the nodes ran) and its gradient recorded
when the backward pass reaches it. A value that leaves a node along several wires
is cloned at each consumer, so every wire has a tensor of its own and the gradient
that flows back along that wire alone can be measured; a node's output gradient is
their sum (what autograd accumulates), and a clone changes no number.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import torch
from torch import fx, nn
from torch.utils.hooks import RemovableHandle

RESULT = "<result>"  # wire_sources' key for the network's result (the wire into Output)


def wire_sources(module: nn.Module) -> dict[str, list[str | None]]:
    """Per submodule attribute: the node id feeding each of its positional arguments
    (and under ``RESULT``, the node whose output is the network's result)."""
    ids: dict[str, str] = dict(getattr(module, "node_ids", {}))
    graph = module.graph if isinstance(module, fx.GraphModule) else None
    if graph is None:
        return {}
    inputs = iter(getattr(module, "input_ids", ()))
    by_name: dict[str, str] = {}
    sources: dict[str, list[str | None]] = {}
    for node in graph.nodes:
        if node.op == "placeholder":
            found = next(inputs, None)
            if found is not None:
                by_name[node.name] = found
        elif node.op == "call_module":
            target = str(node.target)
            if target in ids:
                by_name[node.name] = ids[target]
            sources[target] = [by_name.get(a.name) if isinstance(a, fx.Node) else None
                               for a in node.args]
        elif node.op == "output" and isinstance(node.args[0], fx.Node):
            sources[RESULT] = [by_name.get(node.args[0].name)]
    return sources


class WireWatch:
    """``with WireWatch(module, output_id) as w: out = module(w.inputs(x)); w.watch_result(out)``
    then, after ``loss.backward()``, ``w.outputs``, ``w.output_norms()``, ``w.wire_norms()``.

    Only the first forward pass inside the block is followed (a GAN's discriminator
    also scores the generated samples)."""

    def __init__(self, module: nn.Module, output_id: str | None) -> None:
        self.module = module
        self.output_id = output_id
        self.ids: dict[str, str] = dict(getattr(module, "node_ids", {}))
        self.sources = wire_sources(module)
        self.outputs: dict[str, torch.Tensor] = {}
        self._out_grads: dict[str, torch.Tensor] = {}
        self._wire_grads: dict[str, torch.Tensor] = {}
        self._handles: list[RemovableHandle] = []
        self._done = False

    def __enter__(self) -> WireWatch:
        for attr, node_id in self.ids.items():
            sub = self.module.get_submodule(attr)
            self._handles.append(sub.register_forward_pre_hook(self._pre_hook(attr, node_id)))
            self._handles.append(sub.register_forward_hook(self._hook(node_id)))
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 trace: TracebackType | None) -> None:
        for handle in self._handles:
            handle.remove()

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` as the network's first input, followed (float inputs get a gradient too)."""
        input_ids = tuple(getattr(self.module, "input_ids", ()))
        if x.is_floating_point():
            x = x.detach().clone().requires_grad_(True)
        if input_ids:
            self._keep(input_ids[0], x)
        return x

    def watch_result(self, out: torch.Tensor) -> None:
        """The network's result: the wire into the Output node; ends the following."""
        self._done = True
        if self.output_id is None:
            return
        self.outputs[self.output_id] = out.detach()
        source = (self.sources.get(RESULT) or [None])[0]
        if out.requires_grad and source is not None:
            wire = f"{source}>{self.output_id}"
            out.register_hook(self._store(self._wire_grads, wire))

    def output_norms(self) -> dict[str, float]:
        return {n: float(torch.linalg.vector_norm(g.float())) for n, g in self._out_grads.items()}

    def wire_norms(self) -> dict[str, float]:
        return {w: float(torch.linalg.vector_norm(g.float()))
                for w, g in self._wire_grads.items()}

    # -- hooks ---------------------------------------------------------------------
    def _keep(self, node_id: str, t: torch.Tensor) -> None:
        self.outputs[node_id] = t.detach()
        if t.requires_grad:
            t.register_hook(self._store(self._out_grads, node_id))

    @staticmethod
    def _store(into: dict[str, torch.Tensor], key: str) -> Any:
        def hook(grad: torch.Tensor) -> None:
            into[key] = into[key] + grad.detach() if key in into else grad.detach()

        return hook

    def _pre_hook(self, attr: str, node_id: str) -> Any:
        def hook(_m: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
            if self._done:
                return None
            sources = self.sources.get(attr, [])
            changed = list(args)
            for i, arg in enumerate(args):
                source = sources[i] if i < len(sources) else None
                if isinstance(arg, torch.Tensor) and arg.requires_grad and source is not None:
                    changed[i] = arg.clone()
                    changed[i].register_hook(self._store(self._wire_grads,
                                                         f"{source}>{node_id}"))
            return tuple(changed)

        return hook

    def _hook(self, node_id: str) -> Any:
        def hook(_m: nn.Module, _args: Any, out: Any) -> None:
            if not self._done and isinstance(out, torch.Tensor):
                self._keep(node_id, out)

        return hook
