"""The Composer-project stack as a `StackPlugin` (Symfony, Laravel, any composer.lock site)."""

from __future__ import annotations

from collections.abc import Mapping

from tma_agent.context import SiteContext
from tma_agent.ecosystems.composer_findings import evaluate_packages
from tma_agent.ecosystems.composer_site import composer_settings, composer_sources
from tma_agent.models import Component, Detection, Finding, StackInfo
from tma_agent.stack import StackPlugin
from tma_composer.detect import STACK, detect_composer, detect_paths
from tma_composer.inventory import list_components

__all__ = ["ComposerStack"]


class ComposerStack(StackPlugin):
    info = StackInfo(
        STACK,
        "Composer project (Symfony, Laravel...)",
        "any PHP project with a composer.lock that no other stack claims: every package",
    )
    sources = tuple(composer_sources())
    settings = tuple(composer_settings(STACK))

    def detect_paths(self) -> list[str]:
        return detect_paths()

    def detect(self, site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
        return detect_composer(site, files)

    def inventory(self, site: SiteContext) -> list[Component]:
        return list_components(site)

    def evaluate(self, site: SiteContext, components: list[Component]) -> list[Finding]:
        return evaluate_packages(site, components)
