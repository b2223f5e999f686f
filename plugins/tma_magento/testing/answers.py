"""Magento product releases as a Composer repository lists them; repositories and advisories
are served with `tma_agent.testing.composer_trees`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tma_agent.testing.composer_trees import (
    release,
)

__all__ = ["product_releases"]


def product_releases(
    name: str, versions: Sequence[str], *, times: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The releases of a product package as a repository lists them (give them newest first)."""
    return [
        release(
            name,
            v,
            type="metapackage",
            require={"magento/magento2-base": v},
            **({"time": times[v]} if times and v in times else {}),
        )
        for v in versions
    ]
