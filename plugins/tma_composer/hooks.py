"""The Composer-project stack as a `StackPlugin` (Symfony, Laravel, any composer.lock site)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tma_agent.apply import ApplyPlan, StepContext, StepInfo
from tma_agent.apply.database import SiteDatabase
from tma_agent.config import Site
from tma_agent.context import SiteContext
from tma_agent.ecosystems.composer_findings import evaluate_packages
from tma_agent.ecosystems.composer_site import composer_settings, composer_sources
from tma_agent.models import Component, Detection, Finding, StackInfo
from tma_agent.stack import StackPlugin
from tma_composer import steps
from tma_composer.database import read_database
from tma_composer.detect import STACK, detect_composer, detect_paths
from tma_composer.inventory import list_components
from tma_composer.plan import composer_plan

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

    # -- applying updates (docs/apply.md) ----------------------------------------------------
    def register_steps(self, register: Callable[[StepInfo], None]) -> None:
        steps.register_steps(register)

    def deploy_plan(self, site: Site) -> ApplyPlan | None:
        """After `tma deploy`: install exactly what the tested commit's lock files say."""
        return ApplyPlan("composer-deploy")

    def apply_plan(self, site: Site, findings: list[Finding]) -> ApplyPlan | None:
        return composer_plan(site, findings)

    def site_database(self, ctx: StepContext) -> SiteDatabase | None:
        """The project's database as its dotenv files say (read, never expanded)."""
        return read_database(ctx.host, ctx.path)
