"""What the npm stack reads from the configuration, declared through `tma_register_settings`."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from tma_agent.settings import Strict

__all__ = ["NpmOptions", "NpmSourceSettings"]


class NpmOptions(Strict):
    """`sites[].options` of an npm site."""

    npm_dir: str | None = Field(
        None,
        description="The front end's folder, relative to the site path, when package.json is "
        "not at the site path (a sub-folder of a larger repository).",
    )

    npm_scripts: bool = Field(
        False,
        description="Let `tma apply` run the packages' install scripts (preinstall, install, "
        "postinstall): off by default, `npm install` runs with `--ignore-scripts`, since a "
        "package's script is code from the registry running on the site's host.",
    )

    @field_validator("npm_scripts", mode="before")
    @classmethod
    def _a_real_boolean(cls, value: Any) -> Any:
        # A quoted "true" or YAML's `yes` must not turn scripts on by accident.
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value

    @field_validator("npm_dir")
    @classmethod
    def _inside_the_site(cls, value: str | None) -> str | None:
        # The folder is joined to the site path: an absolute or `..` path would leave the tree.
        if value is not None and (value.startswith("/") or ".." in value.split("/")):
            raise ValueError(f"must be a relative path inside the site path, not {value!r}")
        return value


class NpmSourceSettings(Strict):
    """`sources.npm` besides `url` (the registry)."""

    token: str | None = Field(
        None,
        description="Sent as `Authorization: Bearer` to the registry (a private registry or "
        "mirror); read it with `$env` or `$file`.",
    )
