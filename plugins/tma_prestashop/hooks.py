"""The PrestaShop stack as a `StackPlugin`."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tma_agent.apply import ApplyPlan, StepContext, StepInfo
from tma_agent.apply.database import SiteDatabase
from tma_agent.config import Site
from tma_agent.context import SiteContext
from tma_agent.ecosystems.packagist_advisories import PACKAGIST_SOURCE
from tma_agent.models import Component, Detection, Finding, SourceInfo, StackInfo
from tma_agent.plugin_settings import SettingsInfo
from tma_agent.stack import StackPlugin
from tma_prestashop import deploy_upgrades, maintenance, steps
from tma_prestashop.database import read_database
from tma_prestashop.detect import STACK, detect_paths, detect_prestashop
from tma_prestashop.distribution import SOURCE_NAME
from tma_prestashop.evaluate import evaluate
from tma_prestashop.inventory import list_components
from tma_prestashop.plan import prestashop_plan
from tma_prestashop.settings import PrestaShopSourceSettings

__all__ = ["DEFAULT_API_URL", "PrestaShopStack"]

DEFAULT_API_URL = "https://api.prestashop-project.org"


class PrestaShopStack(StackPlugin):
    info = StackInfo(STACK, "PrestaShop", "PrestaShop 1.6, 1.7, 8 and 9: core and modules")
    sources = (
        SourceInfo(
            SOURCE_NAME,
            DEFAULT_API_URL,
            "PrestaShop distribution API (core releases); `modules` and `advisories` name the "
            "agency's module index and advisories (URL or file)",
        ),
        PACKAGIST_SOURCE,
    )
    settings = (SettingsInfo("sources", SOURCE_NAME, PrestaShopSourceSettings),)

    def detect_paths(self) -> list[str]:
        return detect_paths()

    def detect(self, site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
        return detect_prestashop(site, files)

    def inventory(self, site: SiteContext) -> list[Component]:
        return list_components(site)

    def evaluate(self, site: SiteContext, components: list[Component]) -> list[Finding]:
        return evaluate(site, components)

    def site_database(self, ctx: StepContext) -> SiteDatabase | None:
        """The site's database as its settings file says (read, never executed)."""
        return read_database(ctx.host, ctx.path)

    def maintenance_commands(self, ctx: StepContext, enable: bool) -> list[list[str]] | None:
        return maintenance.maintenance_commands(ctx.host, ctx.path, enable)

    # -- applying updates (docs/apply.md) ----------------------------------------------------
    def register_steps(self, register: Callable[[StepInfo], None]) -> None:
        steps.register_steps(register)
        deploy_upgrades.register_steps(register)

    def deploy_plan(self, site: Site) -> ApplyPlan | None:
        """After `tma deploy`: install exactly what the tested commit's lock files say."""
        return ApplyPlan("prestashop-deploy")

    def apply_plan(self, site: Site, findings: list[Finding]) -> ApplyPlan | None:
        return prestashop_plan(site, findings)
