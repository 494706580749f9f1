"""Models the user points at: a class or factory in a ``.py`` file, a weights file, and
where the weights of an imported model are kept.

Loading a ``.py`` file runs its code: that is the point of importing a module, and
the command line and the window say so before doing it. Listing what a file defines
(``module_classes``) only parses it. Weights files are data: ``.pt`` is read with
``torch.load(weights_only=True)``, ``.safetensors`` with safetensors.

An imported model's weights are written as a run writes them —
``runs/<file name>/model.safetensors`` with the ``graph.loom`` they belong to — so
``evaluate``, ``export``, ``train --init-weights`` and the window's Export and
Evaluate dialogs find them where they find a trained model's.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

    from graph.importers.result import ImportedModel


class ModelSourceError(ValueError):
    """A model file, name or weights file that cannot be used; the message says why."""


def split_source(text: str) -> tuple[Path, str | None]:
    """``model.py:Net`` → (model.py, "Net"); ``model.onnx`` → (model.onnx, None)."""
    path, sep, name = text.rpartition(":")
    if sep and path.endswith(".py") and name.isidentifier():
        return Path(path), name
    if text.endswith(".py"):
        raise ModelSourceError(f"name the class or factory function in {text}: "
                               f"{text}:ClassName")
    return Path(text), None


def module_classes(path: Path) -> list[str]:
    """Top-level ``nn.Module`` subclasses (directly or through classes of the file) and
    functions annotated to return a module, in file order. Parses, never runs, the file."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
        raise ModelSourceError(f"cannot read {path}: {exc}") from None
    modules: list[str] = []
    for node in tree.body:
        if _defines_module(node, modules):
            modules.append(node.name)  # type: ignore[attr-defined]
    return modules


def _defines_module(node: ast.stmt, known: list[str]) -> bool:
    if isinstance(node, ast.ClassDef):
        return any(_names_module(base, known) for base in node.bases)
    if isinstance(node, ast.FunctionDef):  # a factory: no arguments, returns a module
        return node.returns is not None and not node.args.args and \
            _names_module(node.returns, known)
    return False


def _names_module(expr: ast.expr, known: list[str]) -> bool:
    text = ast.unparse(expr).strip("'\"")
    last = text.rsplit(".", 1)[-1]
    return last in ("Module", "Sequential") or text in known


def load_python_model(path: Path, name: str) -> nn.Module:
    """Run ``path`` and build ``name`` from it (a class or a function, called without
    arguments)."""
    from torch import nn

    if not path.is_file():
        raise ModelSourceError(f"{path} does not exist")
    module = _run_file(path)
    factory = getattr(module, name, None)
    if factory is None:
        found = ", ".join(module_classes(path)) or "none"
        raise ModelSourceError(f"{path} defines no '{name}' (modules found: {found})")
    try:
        model = factory()
    except Exception as exc:
        raise ModelSourceError(f"{name}() failed{_user_line(exc, path)}: {exc}; the class or "
                               "function must build the model without arguments (write a "
                               "small factory function that passes them)") from None
    if not isinstance(model, nn.Module):
        raise ModelSourceError(f"{name}() gave a {type(model).__name__}, not a torch nn.Module")
    return model


def _run_file(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"layerloom_import_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ModelSourceError(f"{path} cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # so the file can import its neighbours, as when run
    sys.modules[spec.name] = module  # dataclasses and pickling look their module up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(spec.name, None)
        raise ModelSourceError(f"running {path} failed{_user_line(exc, path)}: "
                               f"{type(exc).__name__}: {exc}") from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    return module


def _user_line(exc: BaseException, path: Path) -> str:
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
             if Path(f.filename).resolve() == path.resolve()]
    return f" at line {lines[-1]}" if lines else ""


def example_input(shape: list[int], tokens: int | None = None) -> torch.Tensor:
    """A batch of two random samples of ``shape`` (token ids below ``tokens`` if given):
    what an import traces the model with."""
    import torch

    gen = torch.Generator().manual_seed(0)
    if tokens is not None:
        return torch.randint(0, tokens, (2, *shape), generator=gen)
    return torch.randn(2, *shape, generator=gen)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A PyTorch state_dict from ``.pt``/``.pth`` (``weights_only``) or ``.safetensors``."""
    import torch

    if not path.is_file():
        raise ModelSourceError(f"weights file {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            loaded: Any = load_file(str(path))
        else:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged file, or one holding more than tensors
        raise ModelSourceError(f"cannot read the weights in {path}: {exc}") from None
    if isinstance(loaded, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(loaded.get(key), Mapping):
                loaded = loaded[key]
                break
    if not isinstance(loaded, Mapping) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in loaded.items()):
        raise ModelSourceError(f"{path} does not hold a state_dict (names → tensors)")
    return dict(loaded)


def load_weights_into(model: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """``model.load_state_dict(state)``, its complaints said in one line."""
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # a size mismatch
        first = str(exc).splitlines()[1:2] or [str(exc)]
        raise ModelSourceError(f"the weights in {path} do not fit the model: "
                               f"{first[0].strip()}") from None
    problems = [f"missing {', '.join(result.missing_keys[:3])}" if result.missing_keys else "",
                f"unexpected {', '.join(result.unexpected_keys[:3])}"
                if result.unexpected_keys else ""]
    if any(problems):
        raise ModelSourceError(f"the weights in {path} do not fit the model: "
                               + "; ".join(p for p in problems if p))


def weights_folder(loom: Path) -> Path:
    """Where ``loom``'s imported weights go: ``runs/<name>/``, below which its runs write,
    so Evaluate, Export and ``--weights``-less commands find them (``runtime.runs``)."""
    from runtime.runs import runs_root

    return runs_root(loom)


def write_weights(result: ImportedModel, folder: Path) -> Path:
    """The imported weights as a run's ``model.safetensors`` (with the graph they belong
    to as ``graph.loom``) in ``folder``; returns the weights file."""
    from graph.compile import compile_network, load_state_dict_by_id
    from graph.fileformat import save_graph
    from runtime.checkpoint import save_weights

    module = compile_network(result.document, result.network)
    load_state_dict_by_id(module, result.weights)
    folder.mkdir(parents=True, exist_ok=True)
    save_graph(result.document, folder / "graph.loom")
    path = folder / "model.safetensors"
    save_weights(path, {result.network: module}, None)
    return path


def load_fitting_weights(path: str | Path, networks: Mapping[str, nn.Module]) -> list[str]:
    """Load a ``model.safetensors`` into the layers it fits; the node ids of layers it does
    not fit (edited since, or new) are returned and keep their fresh weights."""
    from graph.compile import load_state_dict_by_id, state_dict_by_id
    from runtime.checkpoint import WeightsError, read_weights

    per_network, _ = read_weights(path)
    fresh: list[str] = []
    for name, module in networks.items():
        saved = per_network.get(name)
        if saved is None:
            raise WeightsError(f"{path} holds no weights for network '{name}' "
                               f"(it has: {', '.join(per_network) or 'none'})")
        mine = state_dict_by_id(module)  # a tied weight once, under its Embedding
        fits = {k: v for k, v in saved.items() if k in mine and mine[k].shape == v.shape}
        load_state_dict_by_id(module, fits, strict=False)
        fresh += sorted({k.partition(".")[0] for k in mine if k not in fits})
    return fresh
