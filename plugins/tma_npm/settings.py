"""What the npm stack reads from the configuration, declared through `tma_register_settings`."""

from __future__ import annotations

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
