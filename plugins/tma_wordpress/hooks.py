"""The pluggy hook implementations of the WordPress stack (re-exported by the package)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tma_agent.context import SiteContext
from tma_agent.hookspecs import hookimpl
from tma_agent.models import Component, Detection, Finding, SourceInfo, StackInfo
from tma_wordpress import wordfence, wpscan
from tma_wordpress.detect import STACK, detect_paths, detect_wordpress
from tma_wordpress.evaluate import SOURCE_NAME, evaluate
from tma_wordpress.inventory import list_components
from tma_wordpress.security import apply_vulnerabilities

__all__ = [
    "tma_detect_paths",
    "tma_detect_stack",
    "tma_evaluate",
    "tma_inventory",
    "tma_register_sources",
    "tma_register_stacks",
]

DEFAULT_API_URL = "https://api.wordpress.org"


@hookimpl
def tma_register_stacks(register: Callable[[StackInfo], None]) -> None:
    register(StackInfo(STACK, "WordPress", "WordPress core, plugins and themes"))


@hookimpl
def tma_register_sources(register: Callable[[SourceInfo], None]) -> None:
    register(
        SourceInfo(
            SOURCE_NAME,
            DEFAULT_API_URL,
            "api.wordpress.org core version check and plugin/theme update checks",
        )
    )
    register(
        SourceInfo(
            wordfence.WORDFENCE,
            wordfence.DEFAULT_URL,
            "Wordfence Intelligence vulnerability feed (scanner format), on by default",
        )
    )
    register(
        SourceInfo(
            wpscan.WPSCAN,
            wpscan.DEFAULT_URL,
            "WPScan API v3, used when sources.wpscan.token is set",
        )
    )


@hookimpl
def tma_detect_paths() -> list[str]:
    return detect_paths()


@hookimpl
def tma_detect_stack(site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
    return detect_wordpress(site, files)


@hookimpl
def tma_inventory(site: SiteContext) -> list[Component] | None:
    if site.stack != STACK:
        return None
    return list_components(site)


@hookimpl
def tma_evaluate(site: SiteContext, components: list[Component]) -> list[Finding] | None:
    if site.stack != STACK:
        return None
    findings = evaluate(site, components)
    apply_vulnerabilities(site, findings)
    return findings
