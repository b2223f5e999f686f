"""What the PrestaShop stack reads from the configuration, declared through
`tma_register_settings`: the agency's module index and module advisories. Sites take no
options."""

from __future__ import annotations

from pydantic import Field, field_validator

from tma_agent.settings import Strict

__all__ = ["PrestaShopSourceSettings"]


class PrestaShopSourceSettings(Strict):
    """`sources.prestashop` besides `url` (the distribution API: core releases)."""

    modules: str | None = Field(
        None,
        description="The agency's module releases index (modules-index.example.json), an "
        "http(s):// URL or a file on the agent machine; without it every module is unknown.",
    )
    advisories: str | None = Field(
        None,
        description="Module advisories (advisories.example.json, Friends-of-Presta style), an "
        "http(s):// URL or a file on the agent machine.",
    )

    @field_validator("modules", "advisories")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must be a URL or a file path, not empty")
        return value
