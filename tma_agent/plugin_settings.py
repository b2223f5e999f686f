"""Settings that plugins declare: a stack's `sites[].options` and the keys of a
`sources.<name>` block besides `url`, each a pydantic model registered by `tma_register_settings`.

The config loader cannot know these keys (they belong to whichever plugins are installed), so it
keeps them as written; once the plugin manager exists, `settings_problems` validates them with the
registered models, one `file:line: key.path: message` per problem, before any site is read. At
run time plugins read typed values through `SiteContext.options_as` and `source_settings_as`,
which validate with the same model, so a hand-built context gets the same rules.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from tma_agent._secrets import mask
from tma_agent._yaml import format_loc
from tma_agent.errors import ConfigError

if TYPE_CHECKING:
    import pluggy
    from pydantic import BaseModel

    from tma_agent.config import Config, Site

__all__ = [
    "SCOPES",
    "SettingsInfo",
    "SettingsRegistry",
    "SettingsScope",
    "registered_settings",
    "settings_problems",
    "typed_settings",
]

SettingsScope = Literal["options", "sources"]
#: `options`: the model of `sites[].options` for sites of the stack `name`;
#: `sources`: the model of the keys of `sources.<name>` other than `url`.
SCOPES: tuple[SettingsScope, ...] = ("options", "sources")

Model = TypeVar("Model", bound="BaseModel")
_Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class SettingsInfo:
    """One declaration: `model` (a pydantic model, best a `tma_agent.settings.Strict` so that
    unknown keys are errors) validates the settings of `scope` `name`."""

    scope: SettingsScope
    name: str
    model: type[BaseModel]


@dataclass(frozen=True)
class SettingsRegistry:
    """Every declared model: `options` by stack name, `sources` by source name."""

    options: Mapping[str, type[BaseModel]] = field(default_factory=dict)
    sources: Mapping[str, type[BaseModel]] = field(default_factory=dict)


def registered_settings(pm: pluggy.PluginManager) -> SettingsRegistry:
    tables: dict[str, dict[str, type[BaseModel]]] = {scope: {} for scope in SCOPES}

    def register(info: SettingsInfo) -> None:
        if info.scope not in tables:
            raise ConfigError(
                f"a plugin declares settings of unknown scope {info.scope!r} "
                f"for {info.name!r} (known: {', '.join(SCOPES)})"
            )
        # Two stacks reading one source (Composer and Magento) declare the same model: fine.
        if tables[info.scope].setdefault(info.name, info.model) is not info.model:
            raise ConfigError(f"two plugins declare different settings for {_label(info)}")

    pm.hook.tma_register_settings(register=register)
    return SettingsRegistry(options=tables["options"], sources=tables["sources"])


def _label(info: SettingsInfo) -> str:
    if info.scope == "options":
        return f"sites[].options of stack {info.name!r}"
    return f"sources.{info.name}"


def settings_problems(config: Config, registry: SettingsRegistry) -> list[str]:
    """`file:line: key.path: message` for every site option and source key that its declared
    model rejects (unknown key, wrong type, bad value)."""
    problems: list[str] = []
    for index, site in enumerate(config.sites):
        if site.options:
            problems += _site_problems(config, ("sites", index, "options"), site, registry)
    for name, block in config.sources.items():
        extra = block.model_extra or {}
        if extra:
            owner = f"sources.{name} takes"
            errors = _errors(registry.sources.get(name), extra, owner, extra_keys=("url",))
            problems += [_line(config, ("sources", name, *loc), msg) for loc, msg in errors]
    return problems


def _site_problems(
    config: Config, where: _Loc, site: Site, registry: SettingsRegistry
) -> list[str]:
    if site.stack is not None:
        owner = f"stack {site.stack} takes"
        errors = _errors(registry.options.get(site.stack), site.options, owner)
    else:
        errors = _undetected_site_errors(site.options, registry)
    return [_line(config, (*where, *loc), message) for loc, message in errors]


def _undetected_site_errors(
    options: Mapping[str, Any], registry: SettingsRegistry
) -> list[tuple[_Loc, str]]:
    """The stack is found by detection: the options must suit one stack; at run time the
    detected stack reads them with its model (a mismatch is then that site's error)."""
    every_key = sorted({key for model in registry.options.values() for key in _keys(model)})
    unknown = [key for key in options if key not in every_key]
    if unknown:
        return [((key,), _unknown(key, every_key, "the stacks take")) for key in unknown]
    # The stack declaring most of the given keys is the one meant; its errors are the useful ones.
    ranked = sorted(
        registry.options.items(),
        key=lambda item: (-len(set(options) & set(_keys(item[1]))), item[0]),
    )
    candidates = [
        _errors(model, options, f"stack {stack} (the closest; set sites[].stack) takes")
        for stack, model in ranked
    ]
    return min(candidates, key=len)


def _line(config: Config, loc: _Loc, message: str) -> str:
    return f"{config.where(loc)}: {message}"


def _errors(
    model: type[BaseModel] | None,
    data: Mapping[str, Any],
    owner: str,
    *,
    extra_keys: tuple[str, ...] = (),
) -> list[tuple[_Loc, str]]:
    """(location inside `data`, message) for each problem; `owner` says whose keys they are."""
    from pydantic import ValidationError

    if model is None:
        return [((key,), _unknown(key, extra_keys, owner)) for key in data]
    known = (*extra_keys, *_keys(model))
    try:
        model.model_validate(dict(data))
    except ValidationError as exc:
        out: list[tuple[_Loc, str]] = []
        for error in exc.errors():
            loc: _Loc = tuple(error["loc"])
            if error["type"] == "extra_forbidden":
                message = _unknown(str(loc[-1]), known, owner) if len(loc) == 1 else "unknown key"
            else:
                message = mask(error["msg"].removeprefix("Value error, "))
            out.append((loc, message))
        return out
    return []


def _keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _unknown(key: str, known: Sequence[str], owner: str) -> str:
    """`owner` says whose keys `known` are: "stack npm takes", "sources.npm takes"."""
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    if not known:
        return f"unknown key ({owner} none)"
    return f"unknown key ({owner}: {', '.join(known)})"


def typed_settings(model: type[Model], data: Mapping[str, Any] | BaseModel, where: str) -> Model:
    """`data` validated as `model`; a ConfigError `where.key: message` when it does not fit."""
    from pydantic import BaseModel, ValidationError

    try:
        return model.model_validate(data if isinstance(data, BaseModel) else dict(data))
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        key = format_loc(error["loc"])
        raise ConfigError(f"{where}{'.' + key if key else ''}: {mask(message)}") from None
