"""The JSON Schemas of the CLI's `--format json` outputs (docs/*.schema.json), for tests that
run the real CLI to validate what it printed. Schemas refer to each other by `$id`."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

__all__ = [
    "DOCS",
    "SCHEMA_PATH",
    "assert_valid",
    "assert_valid_check_output",
    "assert_valid_output",
]

DOCS = Path(__file__).parent.parent / "docs"
SCHEMA_PATH = DOCS / "check-output.schema.json"


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(DOCS.glob("*.schema.json")):
        schema = json.loads(path.read_text())
        if "$id" in schema:
            resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((DOCS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def assert_valid(document: Any, schema: str) -> None:
    """`schema`: a file name under docs/, e.g. `run-output.schema.json`."""
    errors = sorted(_validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def assert_valid_check_output(document: Any) -> None:
    assert_valid(document, SCHEMA_PATH.name)


def assert_valid_output(document: Any, schema_name: str) -> None:
    """`document` against docs/<schema_name> (another command's `--format json`)."""
    assert_valid(document, schema_name)
