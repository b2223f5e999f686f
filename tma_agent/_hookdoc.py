"""The exact signature text of each hook, as docs/hooks.md must show it."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from types import FunctionType

from tma_agent import hookspecs

__all__ = ["hook_signatures"]


def hook_signatures() -> Iterator[tuple[str, str, bool]]:
    """(name, `name(arg: Type, ...) -> Return`, firstresult) for every hook, in file order."""
    functions = [
        f
        for name, f in vars(hookspecs).items()
        if name.startswith("tma_") and isinstance(f, FunctionType)
    ]
    for function in sorted(functions, key=lambda f: f.__code__.co_firstlineno):
        signature = inspect.signature(function)
        params = ", ".join(f"{p.name}: {p.annotation}" for p in signature.parameters.values())
        text = f"{function.__name__}({params}) -> {signature.return_annotation}"
        options = getattr(function, f"{hookspecs.PROJECT_NAME}_spec", {})
        yield function.__name__, text, bool(options.get("firstresult"))
