"""The pluggy hook implementations of the npm front-end stack (re-exported by the package)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tma_agent.context import SiteContext
from tma_agent.hookspecs import hookimpl
from tma_agent.models import Component, Detection, Finding, SourceInfo, StackInfo
from tma_npm.detect import STACK, detect_npm, detect_paths
from tma_npm.evaluate import SOURCE_NAME, evaluate
from tma_npm.inventory import list_components

__all__ = [
    "DEFAULT_REGISTRY_URL",
    "tma_detect_paths",
    "tma_detect_stack",
    "tma_evaluate",
    "tma_inventory",
    "tma_register_sources",
    "tma_register_stacks",
]

DEFAULT_REGISTRY_URL = "https://registry.npmjs.org"


@hookimpl
def tma_register_stacks(register: Callable[[StackInfo], None]) -> None:
    register(
        StackInfo(
            STACK,
            "npm front end (React, Angular, Vue...)",
            "JavaScript projects installed with npm: packages from package-lock.json",
        )
    )


@hookimpl
def tma_register_sources(register: Callable[[SourceInfo], None]) -> None:
    register(
        SourceInfo(
            SOURCE_NAME,
            DEFAULT_REGISTRY_URL,
            "the npm registry: package metadata and the bulk security advisory endpoint",
        )
    )


@hookimpl
def tma_detect_paths() -> list[str]:
    return detect_paths()


@hookimpl(trylast=True)
def tma_detect_stack(site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
    return detect_npm(site, files)


@hookimpl
def tma_inventory(site: SiteContext) -> list[Component] | None:
    return list_components(site) if site.stack == STACK else None


@hookimpl
def tma_evaluate(site: SiteContext, components: list[Component]) -> list[Finding] | None:
    return evaluate(site, components) if site.stack == STACK else None
