"""The arguments of the WordPress apply steps, checked twice: as the playbook is loaded (a
`{{ name }}` template passes then) and once rendered, before the step does anything
(`checked()`: no template passes any more)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tma_agent.apply import StepFailed
from tma_wordpress import packages
from tma_wordpress.api import DEFAULT_LOCALE

__all__ = ["CoreUpdateArgs", "NoArgs", "PackageSpec", "PackageSwapArgs"]


def _optional_url(value: object) -> str:
    return "" if value == "" else packages.check_url(value)


def _never_text(value: object) -> object:
    if isinstance(value, str):
        raise packages.UnsafeValue("a list of packages is expected")
    return value


_LENIENT_LIST = packages.lenient(_never_text)


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CoreUpdateArgs(NoArgs):
    version: str
    locale: str = DEFAULT_LOCALE
    #: The package URL; empty: the version-check offer's `packages.full`.
    package: str = ""
    #: The WP-CLI executable on the host, used for `wp core update-db` when present.
    wp_cli: str = "wp"

    _version = field_validator("version")(packages.lenient(packages.check_version))
    _locale = field_validator("locale")(packages.lenient(packages.check_locale))
    _package = field_validator("package")(packages.lenient(_optional_url))

    def checked(self) -> CoreUpdateArgs:
        """The rendered arguments, each value checked again (no template passes now)."""
        packages.check_version(self.version)
        packages.check_locale(self.locale)
        _optional_url(self.package)
        return self


#: `plugin/akismet@5.0.3`: how a person writes a package on the command line (`--var`).
_SHORT_SPEC = re.compile(r"(plugin|theme)/([^@]*)@(.*)", re.DOTALL)


class PackageSpec(NoArgs):
    """One plugin or theme to swap: a mapping, or `kind/slug@version`."""

    kind: Literal["plugin", "theme"]
    slug: str
    version: str
    #: The zip URL; empty: the info API's `download_link`.
    package: str = ""

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, str):
            matched = _SHORT_SPEC.fullmatch(value)
            if matched is None:
                raise packages.UnsafeValue(f"refused package {value[:80]!r}: not kind/slug@version")
            kind, slug, version = matched.groups()
            return {"kind": kind, "slug": slug, "version": version}
        return value

    _slug = field_validator("slug")(packages.lenient(packages.check_slug))
    _version = field_validator("version")(packages.lenient(packages.check_version))
    _package = field_validator("package")(packages.lenient(_optional_url))


class PackageSwapArgs(NoArgs):
    #: A list, or in a playbook `"{{ packages }}"` (the plan's list, rendered before running).
    packages: list[PackageSpec] | str = Field(min_length=1)
    #: The content directory, relative to the site's path (or absolute).
    content_dir: str = "wp-content"

    _packages = field_validator("packages")(_LENIENT_LIST)

    def checked(self) -> list[PackageSpec]:
        if isinstance(self.packages, str):
            raise StepFailed("wordpress.package_swap: `packages` must be a list")
        for spec in self.packages:
            packages.check_slug(spec.slug)
            packages.check_version(spec.version)
            _optional_url(spec.package)
        return self.packages
