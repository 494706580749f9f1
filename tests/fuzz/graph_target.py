"""The graph-file target: mutants of the example models and of the format samples go
through load → validate → summary, and small ones that validate are compiled."""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graph.catalog import ParamSpec, catalog
from tests.fuzz.harness import Mutant, Seed, Target
from tests.fuzz.json_mutants import mutate_json

ROOT = Path(__file__).resolve().parents[2]
SMALL = 60  # nodes in all networks: a mutant this small is compiled too
COMPILED_PARAMETERS = 2_000_000  # at most this many weights are allocated per network


def seeds() -> list[Seed]:
    files = sorted((ROOT / "resources" / "examples").glob("*.loom"))
    files += sorted((ROOT / "tests" / "data").glob("*.loom"))
    return [Seed(f.stem, f.read_bytes(), "model.loom") for f in files]


def mutate(seed: Seed, rng: random.Random) -> Mutant:
    """Half the mutants are damaged JSON (most are refused as they load); the other half
    stay well-typed files with odd models, which go on to validation and compilation."""
    if rng.random() < 0.5:
        what, data = mutate_json(seed.data, rng)
        return Mutant(seed, what, data)
    tree = json.loads(seed.data)
    done = [_apply(rng.choice(MODEL_OPS), tree, rng) for _ in range(rng.choice([1, 1, 2, 3]))]
    return Mutant(seed, "; ".join(done), json.dumps(tree, indent=2).encode())


def _apply(op: Callable[[dict[str, Any], random.Random], str], tree: dict[str, Any],
           rng: random.Random) -> str:
    """``op`` on ``tree``; a seed that lacks what it changes (a file may leave out any
    field that has a default) is left as it is."""
    try:
        return op(tree, rng)
    except (KeyError, IndexError, TypeError):
        return f"{op.__name__} does not apply"


# -- well-typed changes to the model -------------------------------------------------

INTS = (-1, 0, 1, 2, 3, 4, 7, 16, 64, 1000, 65_536, 65_537, 1 << 20, (1 << 20) + 1, 10**9)
FLOATS = (-1.0, 0.0, 1e-12, 0.5, 0.99, 1.0, 2.0, 1e6, 1e300)


def _nodes(tree: dict[str, Any], rng: random.Random) -> tuple[str, list[dict[str, Any]]]:
    name = rng.choice(sorted(tree["networks"]))
    return name, tree["networks"][name]["nodes"]


def _value(param: ParamSpec, rng: random.Random) -> Any:
    if param.kind == "int":
        return rng.choice(INTS)
    if param.kind == "float":
        return rng.choice(FLOATS)
    if param.kind == "bool":
        return rng.random() < 0.5
    if param.kind == "choice":
        return rng.choice(param.choices)
    return [rng.choice(INTS) for _ in range(rng.choice([0, 1, 2, 3, 4, 5, 7]))]


def _set_param(tree: dict[str, Any], rng: random.Random) -> str:
    name, nodes = _nodes(tree, rng)
    node = rng.choice(nodes)
    spec = catalog().find(node["type"])
    if spec is None or not spec.all_params:
        return _rewire(tree, rng)
    param = rng.choice(spec.all_params)
    node["params"][param.name] = _value(param, rng)
    return f"{name}:{node['label']}.{param.name} = {node['params'][param.name]!r}"


def _rewire(tree: dict[str, Any], rng: random.Random) -> str:
    name = rng.choice(sorted(tree["networks"]))
    net = tree["networks"][name]
    if not net["edges"] or not net["nodes"]:
        return "nothing to rewire"
    edge = rng.choice(net["edges"])
    end = rng.choice(["source", "target", "port"])
    edge[end] = rng.choice([*PORTS]) if end == "port" else rng.choice(net["nodes"])["id"]
    return f"{name}: a wire's {end} = {edge[end]!r}"


PORTS = ("x", "in0", "in1", "in2", "in3", "query", "key", "value", "memory", "y")


def _retype_node(tree: dict[str, Any], rng: random.Random) -> str:
    name, nodes = _nodes(tree, rng)
    node = rng.choice(nodes)
    spec = rng.choice(list(catalog()))
    node["type"], node["params"], node["version"] = spec.id, {}, spec.version
    return f"{name}:{node['label']} becomes a {spec.id}"


def _remove_node(tree: dict[str, Any], rng: random.Random) -> str:
    name, nodes = _nodes(tree, rng)
    if not nodes:
        return "no node to remove"
    node = nodes.pop(rng.randrange(len(nodes)))
    net = tree["networks"][name]
    net["edges"] = [e for e in net["edges"] if node["id"] not in (e["source"], e["target"])]
    return f"{name}:{node['label']} removed with its wires"


def _training(tree: dict[str, Any], rng: random.Random) -> str:
    training = tree["training"]
    change = rng.choice(["task", "loss", "batch", "networks", "gan", "epochs"])
    if change == "task":
        training["task"] = rng.choice(["classification", "regression", "autoencoder", "gan"])
    elif change == "loss":
        losses = ["cross_entropy", "bce_logits", "mse", "nll"]
        training.setdefault("loss", {})["name"] = rng.choice(losses)
    elif change == "batch":
        training["batch_size"] = rng.choice([1, 2, 65_536])
    elif change == "networks":
        names = sorted(tree["networks"])
        training["networks"] = {rng.choice([*names, "missing"]): {}}
    elif change == "gan":
        names = sorted(tree["networks"])
        training["gan"] = {"generator": rng.choice(names), "discriminator": rng.choice(names)}
    else:
        training["epochs"] = rng.choice([1, 100_000])
    return f"training {change} changed"


MODEL_OPS: tuple[Callable[[dict[str, Any], random.Random], str], ...] = (
    _set_param, _set_param, _set_param, _rewire, _rewire, _retype_node, _remove_node,
    _training,
)


def run(path: Path) -> None:
    from graph.compile import compile_network
    from graph.fileformat import load_graph
    from graph.shapes import ShapeInference
    from graph.summary import format_summary
    from graph.validate import validate

    doc = load_graph(path)
    shapes = ShapeInference(doc)
    found = validate(doc, shapes)
    format_summary(doc, shapes)
    if sum(len(net) for net in doc.networks.values()) > SMALL:
        return
    for name in doc.networks:
        wrong = any(d.is_error and d.network == name for d in found)
        if not wrong and shapes.totals(name)[0] <= COMPILED_PARAMETERS:
            compile_network(doc, name, shapes=shapes.results[name])


def target() -> Target:
    from graph.compile import CompileError
    from graph.fileformat import GraphFileError

    return Target("graph", seeds, mutate, run, (GraphFileError, CompileError), _warm_up)


def _warm_up() -> None:
    """Import torch and run one example through every stage."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.loom"
        path.write_bytes((ROOT / "resources" / "examples" / "gan_ring.loom").read_bytes())
        run(path)


# -- the command line on graph files ------------------------------------------------------


class ExitCodeError(AssertionError):
    """The command line said something unexpected escaped, or exited with an undocumented
    code: an escape for the harness (it is not one of the target's allowed errors)."""


def run_cli(path: Path) -> None:
    """``layerloom validate`` and ``summary`` on the file: exit 0, 1 or 2, and never the
    message of an unexpected error."""
    import contextlib
    import io

    from runtime.cli import EXIT_FAILED, EXIT_OK, EXIT_UNREADABLE, main

    for command in ("validate", "summary"):
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = main([command, str(path)])
        text = err.getvalue()
        if code not in (EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE) or "unexpected" in text:
            raise ExitCodeError(f"{command} exited {code}: {text.strip()[:300]}")


def cli_target() -> Target:
    return Target("cli", seeds, mutate, run_cli, (), _warm_up)
