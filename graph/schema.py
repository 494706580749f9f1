"""The JSON Schema of ``.loom`` files, derived from the file models and the catalog.

``python -m graph.schema --write-schema`` regenerates ``graph/schema.json``;
``python -m graph.schema FILE...`` checks files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graph import migrations
from graph.catalog import ParamSpec, catalog
from graph.file_errors import GraphFileError
from graph.fileformat import LoomFile, load_graph

SCHEMA_PATH = Path(__file__).with_name("schema.json")


def json_schema() -> dict[str, Any]:
    """A JSON Schema (2020-12) for ``.loom`` files, with each layer type's params.

    Types only, no bounds: an out-of-range value still loads (validation reports
    it). Derived from the models above and the catalog; ``schema.json`` ships it.
    """
    schema = LoomFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["properties"]["version"] = {"const": migrations.FORMAT_VERSION, "title": "Version"}
    defs: dict[str, Any] = schema["$defs"]
    branches = []
    for spec in catalog():
        name = f"{spec.id}Params"
        if name in defs:
            raise AssertionError(f"schema definition {name} is defined twice")
        defs[name] = {
            "title": f"{spec.display_name} parameters",
            "type": "object",
            "properties": {p.name: _param_schema(p) for p in spec.all_params},
            "additionalProperties": False,
        }
        branches.append({
            "properties": {
                "type": {"enum": [spec.id, *spec.legacy_ids]},
                "version": {"maximum": spec.version},
                "params": {"$ref": f"#/$defs/{name}"},
            },
        })
    # The "type" values are disjoint, so exactly one branch applies to a valid node.
    defs["LoomNode"]["oneOf"] = branches
    return schema


def _param_schema(p: ParamSpec) -> dict[str, Any]:
    kinds: dict[str, dict[str, Any]] = {
        "int": {"type": "integer"},
        "float": {"type": "number"},
        "bool": {"type": "boolean"},
        "choice": {"enum": list(p.choices)},
        "ints": {"type": "array", "items": {"type": "integer"}},
        "node": {"type": "string"},
    }
    return {**kinds[p.kind], "description": p.doc, "default": p.to_json(p.coerce(p.default))}


def schema_text() -> str:
    """``json_schema()`` as ``schema.json`` holds it."""
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``--write-schema`` regenerates schema.json; file arguments are checked."""
    parser = argparse.ArgumentParser(prog="python -m graph.schema", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write-schema", action="store_true",
                        help=f"regenerate {SCHEMA_PATH} from the code")
    parser.add_argument("files", nargs="*", help=".loom files to check")
    args = parser.parse_args(argv)
    if args.write_schema:
        SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    failed = False
    for name in args.files:
        try:
            load_graph(name)
        except GraphFileError as exc:
            sys.stderr.write(f"{name}: {exc}\n")
            failed = True
        else:
            sys.stdout.write(f"{name}: ok\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
