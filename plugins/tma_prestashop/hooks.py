"""The pluggy hook implementations of the PrestaShop stack (re-exported by the package)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tma_agent.context import SiteContext
from tma_agent.hookspecs import hookimpl
from tma_agent.models import Component, Detection, Finding, SourceInfo, StackInfo
from tma_prestashop.detect import STACK, detect_paths, detect_prestashop
from tma_prestashop.distribution import SOURCE_NAME
from tma_prestashop.evaluate import evaluate
from tma_prestashop.inventory import list_components
from tma_prestashop.packagist import DEFAULT_PACKAGIST_URL, PACKAGIST

__all__ = [
    "DEFAULT_API_URL",
    "tma_detect_paths",
    "tma_detect_stack",
    "tma_evaluate",
    "tma_inventory",
    "tma_register_sources",
    "tma_register_stacks",
]

DEFAULT_API_URL = "https://api.prestashop-project.org"


@hookimpl
def tma_register_stacks(register: Callable[[StackInfo], None]) -> None:
    register(StackInfo(STACK, "PrestaShop", "PrestaShop 1.6, 1.7, 8 and 9: core and modules"))


@hookimpl
def tma_register_sources(register: Callable[[SourceInfo], None]) -> None:
    register(
        SourceInfo(
            SOURCE_NAME,
            DEFAULT_API_URL,
            "PrestaShop distribution API (core releases); `modules` and `advisories` name the "
            "agency's module index and advisories (URL or file)",
        )
    )
    register(
        SourceInfo(
            PACKAGIST,
            DEFAULT_PACKAGIST_URL,
            "Packagist security advisories API (prestashop/prestashop, drupal/*, magento/*...)",
        )
    )


@hookimpl
def tma_detect_paths() -> list[str]:
    return detect_paths()


@hookimpl
def tma_detect_stack(site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
    return detect_prestashop(site, files)


@hookimpl
def tma_inventory(site: SiteContext) -> list[Component] | None:
    return list_components(site) if site.stack == STACK else None


@hookimpl
def tma_evaluate(site: SiteContext, components: list[Component]) -> list[Finding] | None:
    return evaluate(site, components) if site.stack == STACK else None
