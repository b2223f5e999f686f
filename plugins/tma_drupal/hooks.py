"""The pluggy hook implementations of the Drupal stack (Drupal 7 and 8 to 11)."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping

from tma_agent.context import SiteContext
from tma_agent.hookspecs import hookimpl
from tma_agent.models import Component, Detection, Finding, SourceInfo, StackInfo
from tma_drupal import detect
from tma_drupal.advisories import DEFAULT_PACKAGIST_URL, PACKAGIST
from tma_drupal.evaluate import evaluate
from tma_drupal.inventory import inventory

__all__ = [
    "DEFAULT_FEED_URL",
    "STACK",
    "tma_detect_paths",
    "tma_detect_stack",
    "tma_evaluate",
    "tma_inventory",
    "tma_register_sources",
    "tma_register_stacks",
]

STACK = "drupal"
DEFAULT_FEED_URL = "https://updates.drupal.org/release-history"


@hookimpl
def tma_register_stacks(register: Callable[[StackInfo], None]) -> None:
    register(
        StackInfo(STACK, "Drupal", "Drupal 7 and 8 to 11: core, contrib modules, themes, profiles")
    )


@hookimpl
def tma_register_sources(register: Callable[[SourceInfo], None]) -> None:
    register(
        SourceInfo(
            STACK, DEFAULT_FEED_URL, "drupal.org release history (update.settings fetch.url)"
        )
    )
    register(
        SourceInfo(
            PACKAGIST,
            DEFAULT_PACKAGIST_URL,
            "Packagist security advisories API (drupal/*, magento/*, symfony/*...)",
        )
    )


@hookimpl
def tma_detect_paths() -> list[str]:
    return detect.detect_paths()


@hookimpl
def tma_detect_stack(site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
    if site.stack not in (None, STACK):
        return None
    facts = detect.core_facts(files)
    if facts is None:
        return None
    root = posixpath.normpath(posixpath.join(site.path, facts.docroot))
    return Detection(stack=STACK, root=root, version=facts.version)


@hookimpl
def tma_inventory(site: SiteContext) -> list[Component] | None:
    return inventory(site) if site.stack == STACK else None


@hookimpl
def tma_evaluate(site: SiteContext, components: list[Component]) -> list[Finding] | None:
    return evaluate(site, components) if site.stack == STACK else None
