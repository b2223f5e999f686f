"""The settings both Composer-based stacks declare (`tma_register_settings`): the site option
`composer_transitive` and the `repositories` of the `composer` source."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from tma_agent.settings import ComposerRepository, Strict

__all__ = ["ComposerOptions", "ComposerSourceSettings"]


class ComposerOptions(Strict):
    """`sites[].options` of a Composer or Magento site."""

    composer_transitive: bool = Field(
        False,
        description="Also fetch release metadata for transitive packages (not only direct ones, "
        "the core and those an advisory affects): one more request per locked package.",
    )

    @field_validator("composer_transitive", mode="before")
    @classmethod
    def _a_real_boolean(cls, value: Any) -> Any:
        # YAML's `yes` or a quoted "true" would otherwise be read as a boolean silently.
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value


class ComposerSourceSettings(Strict):
    """`sources.composer` besides `url` (the one default repository)."""

    repositories: list[ComposerRepository] | None = Field(
        None,
        description="Composer v2 repositories asked in order, each `{url, auth: {username, "
        "password}}` (HTTP basic, sent only to that repository's host); replaces `url`.",
    )
