"""The Magento stack as a `StackPlugin` (Magento 2, Adobe Commerce, Mage-OS)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tma_agent.apply import ApplyPlan, StepContext, StepInfo
from tma_agent.apply.database import SiteDatabase
from tma_agent.config import Site
from tma_agent.context import SiteContext
from tma_agent.ecosystems.composer_site import composer_settings, composer_sources
from tma_agent.models import Component, Detection, Finding, StackInfo
from tma_agent.stack import StackPlugin
from tma_magento import maintenance, steps
from tma_magento.database import read_database
from tma_magento.detect import STACK, detect_magento, detect_paths
from tma_magento.evaluate import evaluate
from tma_magento.inventory import list_components
from tma_magento.plan import magento_plan

__all__ = ["MagentoStack"]


class MagentoStack(StackPlugin):
    info = StackInfo(
        STACK,
        "Magento 2 / Adobe Commerce / Mage-OS",
        "the product meta-package, Magento and third-party modules, every locked package",
    )
    sources = tuple(composer_sources())
    settings = tuple(composer_settings(STACK))

    def detect_paths(self) -> list[str]:
        return detect_paths()

    def detect(self, site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
        return detect_magento(site, files)

    def inventory(self, site: SiteContext) -> list[Component]:
        return list_components(site)

    def evaluate(self, site: SiteContext, components: list[Component]) -> list[Finding]:
        return evaluate(site, components)

    def site_database(self, ctx: StepContext) -> SiteDatabase | None:
        """The site's database as its settings file says (read, never executed)."""
        return read_database(ctx.host, ctx.path)

    def maintenance_commands(self, ctx: StepContext, enable: bool) -> list[list[str]] | None:
        return maintenance.maintenance_commands(enable)

    # -- applying updates (docs/apply.md) ----------------------------------------------------
    def register_steps(self, register: Callable[[StepInfo], None]) -> None:
        steps.register_steps(register)

    def deploy_plan(self, site: Site) -> ApplyPlan | None:
        """After `tma deploy`: install exactly what the tested commit's lock files say."""
        return ApplyPlan("magento-deploy")

    def apply_plan(self, site: Site, findings: list[Finding]) -> ApplyPlan | None:
        return magento_plan(site, findings)
