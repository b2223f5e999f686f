"""The JSON Schema of `tma check --format json` (docs/check-output.schema.json), for tests that
run the real CLI to validate what it printed."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

__all__ = ["SCHEMA_PATH", "assert_valid_check_output", "assert_valid_output"]

SCHEMA_PATH = Path(__file__).parent.parent / "docs" / "check-output.schema.json"


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def assert_valid_check_output(document: Any) -> None:
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def assert_valid_output(document: Any, schema_name: str) -> None:
    """`document` against docs/<schema_name> (another command's `--format json`)."""
    schema = json.loads((SCHEMA_PATH.parent / schema_name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
