"""The pluggy hook implementations of the Composer-project stack (re-exported by the package)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tma_agent.context import SiteContext
from tma_agent.ecosystems.composer_findings import composer_sources, evaluate_packages
from tma_agent.hookspecs import hookimpl
from tma_agent.models import Component, Detection, Finding, SourceInfo, StackInfo
from tma_composer.detect import STACK, detect_composer, detect_paths
from tma_composer.inventory import list_components

__all__ = [
    "tma_detect_paths",
    "tma_detect_stack",
    "tma_evaluate",
    "tma_inventory",
    "tma_register_sources",
    "tma_register_stacks",
]


@hookimpl
def tma_register_stacks(register: Callable[[StackInfo], None]) -> None:
    register(
        StackInfo(
            STACK,
            "Composer project (Symfony, Laravel...)",
            "any PHP project with a composer.lock that no other stack claims: every package",
        )
    )


@hookimpl
def tma_register_sources(register: Callable[[SourceInfo], None]) -> None:
    for info in composer_sources():
        register(info)


@hookimpl
def tma_detect_paths() -> list[str]:
    return detect_paths()


@hookimpl
def tma_detect_stack(site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
    return detect_composer(site, files)


@hookimpl
def tma_inventory(site: SiteContext) -> list[Component] | None:
    return list_components(site) if site.stack == STACK else None


@hookimpl
def tma_evaluate(site: SiteContext, components: list[Component]) -> list[Finding] | None:
    return evaluate_packages(site, components) if site.stack == STACK else None
