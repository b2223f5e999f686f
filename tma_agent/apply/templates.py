"""Playbook strings are Jinja2 templates, rendered once against data.

A value (a version, a component name, a path read from a site) is inserted as text and never
rendered again nor given to a shell: argv items stay argv items. The environment is sandboxed
and strict, so a playbook can neither reach Python internals nor use a variable by mistake.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "TemplateProblem",
    "names_used",
    "render_value",
    "truth",
]

#: An argv item that is exactly one variable: a list value expands into one item per element.
_WHOLE = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


class TemplateProblem(ValueError):
    """A template that does not parse or render; the message is one line."""


@lru_cache(maxsize=1)
def _environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def names_used(value: Any, *, expression: bool = False) -> set[str]:
    """The top-level variable names the templates in `value` (or one `when` expression) read."""
    env = _environment()
    found: set[str] = set()
    texts = [value] if expression else list(_strings(value))
    for text in texts:
        if not expression and "{" not in text:
            continue
        source = f"{{{{ {text} }}}}" if expression else text
        try:
            ast = env.parse(source)
        except TemplateError as exc:
            raise TemplateProblem(f"bad template {text!r}: {exc.message}") from None
        found |= meta.find_undeclared_variables(ast)
    return found


def _render_text(text: str, variables: Mapping[str, Any]) -> str:
    if "{" not in text:
        return text
    try:
        return _environment().from_string(text).render(variables)
    except TemplateError as exc:
        raise TemplateProblem(f"cannot render {text!r}: {exc.message}") from None


def render_value(value: Any, variables: Mapping[str, Any]) -> Any:
    """`value` with every string rendered; a string that is exactly `{{ name }}` becomes the
    variable's value itself (a list stays a list, a number a number)."""
    if isinstance(value, str):
        whole = _WHOLE.match(value)
        if whole and whole.group(1) in variables:
            return variables[whole.group(1)]
        return _render_text(value, variables)
    if isinstance(value, Mapping):
        return {k: render_value(v, variables) for k, v in value.items()}
    if isinstance(value, list | tuple):
        out: list[Any] = []
        for item in value:
            rendered = render_value(item, variables)
            # `[touch, "{{ names }}"]` with a list of names: one argument per name.
            if isinstance(item, str) and _WHOLE.match(item) and isinstance(rendered, list | tuple):
                out.extend(rendered)
            else:
                out.append(rendered)
        return out
    return value


def truth(expression: str, variables: Mapping[str, Any]) -> bool:
    """Evaluate a `when:` expression."""
    try:
        compiled = _environment().compile_expression(expression, undefined_to_none=False)
        return bool(compiled(**variables))
    except TemplateError as exc:
        raise TemplateProblem(f"cannot evaluate when {expression!r}: {exc.message}") from None
