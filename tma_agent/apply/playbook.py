"""Playbooks: YAML files of steps, loaded and checked completely before anything runs.

An unknown step, an undeclared variable, arguments a step does not take: each is a
`file:line: message` error naming the playbook, and nothing runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tma_agent._yaml import LineMap, load_yaml_with_lines
from tma_agent.apply._types import PlaybookError, StepInfo
from tma_agent.apply.templates import TemplateProblem, names_used
from tma_agent.errors import ConfigError

__all__ = ["BUILTIN_VARIABLES", "Playbook", "PlaybookStep", "Variable", "load_playbook"]

#: What every playbook may read without declaring it (docs/apply.md lists them).
BUILTIN_VARIABLES = frozenset(
    {
        "site", "client", "env", "path", "stack", "url", "branch", "remote", "date", "stamp",
        "request", "findings", "backup_dir", "host",
    }
)  # fmt: skip
#: Keys a step mapping may carry besides its one step type.
STEP_KEYS = frozenset({"name", "when", "register", "timeout", "ignore_errors"})
_TOP_KEYS = frozenset({"name", "description", "stacks", "variables", "steps", "on_failure"})
_VARIABLE_KEYS = frozenset({"required", "default", "description"})
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Variable:
    name: str
    required: bool = False
    default: Any = None
    description: str = ""


@dataclass(frozen=True)
class PlaybookStep:
    step: str
    args: dict[str, Any]
    #: `file:line` of the step, for messages.
    where: str
    name: str = ""
    when: str | None = None
    register: str | None = None
    timeout: float | None = None
    ignore_errors: bool = False

    @property
    def title(self) -> str:
        return self.name or self.step


@dataclass(frozen=True)
class Playbook:
    name: str
    path: Path
    description: str = ""
    stacks: tuple[str, ...] = ()
    variables: dict[str, Variable] = field(default_factory=dict)
    steps: tuple[PlaybookStep, ...] = ()
    on_failure: tuple[PlaybookStep, ...] = ()

    def missing_variables(self, given: Mapping[str, Any]) -> list[str]:
        return [n for n, v in self.variables.items() if v.required and n not in given]

    def resolve_variables(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Declared defaults with `given` over them; PlaybookError when a required one lacks or
        an unknown one is given (a typo in `--var` must not be ignored)."""
        unknown = sorted(set(given) - set(self.variables))
        if unknown:
            raise PlaybookError(
                f"{self.path}: playbook {self.name!r} has no variable {', '.join(unknown)} "
                f"(it takes: {', '.join(self.variables) or 'none'})"
            )
        missing = self.missing_variables(given)
        if missing:
            raise PlaybookError(
                f"{self.path}: playbook {self.name!r} needs the variable(s) {', '.join(missing)}"
            )
        return {**{n: v.default for n, v in self.variables.items()}, **given}


def load_playbook(path: Path, steps: Mapping[str, StepInfo]) -> Playbook:
    """Load and check a playbook against the registered `steps`; PlaybookError otherwise."""
    try:
        data, lines = load_yaml_with_lines(path)
    except ConfigError as exc:
        raise PlaybookError(str(exc).replace(path.name, str(path), 1)) from None
    return _Reader(path, lines, steps).playbook(data)


class _Reader:
    def __init__(self, path: Path, lines: LineMap, steps: Mapping[str, StepInfo]) -> None:
        self.path, self.lines, self.steps = path, lines, steps

    def where(self, loc: Sequence[str | int]) -> str:
        return f"{self.path}:{self.lines.line_of(loc)}"

    def fail(self, loc: Sequence[str | int], message: str) -> PlaybookError:
        return PlaybookError(f"{self.where(loc)}: {message}")

    def playbook(self, data: Any) -> Playbook:
        if not isinstance(data, dict):
            raise self.fail((), "a playbook is a mapping (name, description, variables, steps)")
        for key in data:
            if key not in _TOP_KEYS:
                raise self.fail(
                    (key,), f"unknown key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})"
                )
        name = data.get("name") or self.path.stem
        if not isinstance(name, str):
            raise self.fail(("name",), "name must be text")
        stacks = data.get("stacks") or []
        if not isinstance(stacks, list) or not all(isinstance(s, str) for s in stacks):
            raise self.fail(("stacks",), "stacks must be a list of stack names")
        variables = self.variables(data.get("variables") or {})
        steps = self.step_list(data.get("steps"), "steps", required=True)
        on_failure = self.step_list(data.get("on_failure"), "on_failure", required=False)
        self.check_names(variables, steps, on_failure)
        return Playbook(
            name=name,
            path=self.path,
            description=str(data.get("description") or ""),
            stacks=tuple(stacks),
            variables=variables,
            steps=steps,
            on_failure=on_failure,
        )

    def variables(self, raw: Any) -> dict[str, Variable]:
        if not isinstance(raw, dict):
            raise self.fail(
                ("variables",),
                "variables must be a mapping of name: {required, default, description}",
            )
        out: dict[str, Variable] = {}
        for name, spec in raw.items():
            loc = ("variables", name)
            if not isinstance(name, str) or not _IDENT.match(name):
                raise self.fail(loc, f"bad variable name {name!r} (letters, digits, _)")
            if name in BUILTIN_VARIABLES:
                raise self.fail(loc, f"{name!r} is a built-in variable; choose another name")
            spec = spec if spec is not None else {}
            if not isinstance(spec, dict) or set(spec) - _VARIABLE_KEYS:
                raise self.fail(loc, "a variable is a mapping of required, default, description")
            out[name] = Variable(
                name,
                required=bool(spec.get("required", "default" not in spec)),
                default=spec.get("default"),
                description=str(spec.get("description") or ""),
            )
        return out

    def step_list(self, raw: Any, key: str, *, required: bool) -> tuple[PlaybookStep, ...]:
        if raw is None and not required:
            return ()
        if not isinstance(raw, list) or (required and not raw):
            raise self.fail((key,), f"{key} must be a list of steps")
        return tuple(self.step(item, (key, i)) for i, item in enumerate(raw))

    def step(self, raw: Any, loc: tuple[str | int, ...]) -> PlaybookStep:
        if not isinstance(raw, dict):
            raise self.fail(loc, "a step is a mapping: `- shell: [...]`")
        types = [k for k in raw if k not in STEP_KEYS]
        if len(types) != 1:
            named = ", ".join(map(str, types)) or "none"
            raise self.fail(loc, f"a step names exactly one step type (found: {named})")
        kind = str(types[0])
        info = self.steps.get(kind)
        if info is None:
            known = ", ".join(sorted(self.steps))
            raise self.fail((*loc, kind), f"unknown step {kind!r} (known: {known})")
        args = raw[kind]
        if args is None:
            args = {}
        elif not isinstance(args, dict):
            if info.shorthand is None:
                raise self.fail((*loc, kind), f"{kind} takes a mapping of arguments")
            args = {info.shorthand: args}
        try:
            info.args_model.model_validate(args)
        except ValidationError as exc:
            # A template stands for a value of any type (`expect: "{{ expect }}"`): its type is
            # checked once rendered, before the step runs. Everything else is checked now.
            errors = [e for e in exc.errors() if not _templated(args, e["loc"])]
            if errors:
                first = errors[0]
                at = ".".join(str(p) for p in first["loc"])
                unknown = first["type"] == "extra_forbidden"
                message = "unknown argument" if unknown else first["msg"]
                raise self.fail(
                    (*loc, kind), f"{kind}: {at + ': ' if at else ''}{message}"
                ) from None
        when = raw.get("when")
        register = raw.get("register")
        timeout = raw.get("timeout")
        if when is not None and not isinstance(when, str | bool):
            raise self.fail((*loc, "when"), "when must be an expression")
        if register is not None and not (isinstance(register, str) and _IDENT.match(register)):
            raise self.fail((*loc, "register"), "register must be a variable name")
        if timeout is not None and not (isinstance(timeout, int | float) and timeout > 0):
            raise self.fail((*loc, "timeout"), "timeout must be a positive number of seconds")
        return PlaybookStep(
            step=kind,
            args=args,
            where=self.where(loc),
            name=str(raw.get("name") or ""),
            when=None if when is None else str(when).lower() if isinstance(when, bool) else when,
            register=register,
            timeout=float(timeout) if timeout is not None else None,
            ignore_errors=bool(raw.get("ignore_errors", False)),
        )

    def check_names(
        self,
        variables: Mapping[str, Variable],
        steps: Sequence[PlaybookStep],
        on_failure: Sequence[PlaybookStep],
    ) -> None:
        known = set(BUILTIN_VARIABLES) | set(variables)
        # on_failure may run after any step: it may read only what every run defines, plus
        # registered names through `is defined` tests (checked at run time).
        registered = {s.register for s in steps if s.register}
        for group, allowed_extra in ((steps, None), (on_failure, registered)):
            seen: set[str] = set()
            for step in group:
                try:
                    used = names_used(step.args)
                    if step.when:
                        used |= names_used(step.when, expression=True)
                except TemplateProblem as exc:
                    raise PlaybookError(f"{step.where}: {exc}") from None
                available = known | seen | (allowed_extra or set())
                unknown = sorted(used - available)
                if unknown:
                    raise PlaybookError(
                        f"{step.where}: step {step.title!r} uses undeclared variable(s) "
                        f"{', '.join(unknown)} (declare them under `variables:`)"
                    )
                if step.register:
                    seen.add(step.register)


def _templated(args: Any, loc: Sequence[str | int]) -> bool:
    """Whether the value at `loc` in the raw arguments (or one of its parents) is a template."""
    value = args
    for part in loc:
        if isinstance(value, str):
            break
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(value, str) and "{{" in value
