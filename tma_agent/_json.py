"""JSON from hostile places (site files, feeds): every failure is a ValueError with one line."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["JSONError", "parse_json"]


class JSONError(ValueError):
    """The text is not JSON, or nests deeper than the parser can follow."""


def parse_json(data: str | bytes) -> Any:
    """`json.loads` whose failures are all `JSONError` with a short message: bad syntax,
    bad encoding, or nesting past the interpreter's recursion limit (a 100k-deep array would
    otherwise surface as a RecursionError traceback)."""
    try:
        return json.loads(data)
    except RecursionError:
        raise JSONError("nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise JSONError(
            f"invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except ValueError as exc:  # UnicodeDecodeError and friends
        raise JSONError(f"invalid JSON ({exc})") from None
