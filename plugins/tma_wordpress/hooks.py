"""The WordPress stack as a `StackPlugin`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from tma_agent.context import SiteContext
from tma_agent.models import Component, Detection, Finding, SourceInfo, StackInfo
from tma_agent.plugin_settings import SettingsInfo
from tma_agent.stack import StackPlugin
from tma_wordpress import maintenance, wordfence, wpscan
from tma_wordpress.detect import STACK, detect_paths, detect_wordpress
from tma_wordpress.evaluate import SOURCE_NAME, evaluate
from tma_wordpress.inventory import list_components
from tma_wordpress.security import apply_vulnerabilities
from tma_wordpress.settings import TokenSettings, WordPressOptions

if TYPE_CHECKING:
    from tma_agent.apply import ApplyPlan, StepContext, StepInfo
    from tma_agent.apply.database import SiteDatabase
    from tma_agent.config import Site

__all__ = ["DEFAULT_API_URL", "WordPressStack"]

DEFAULT_API_URL = "https://api.wordpress.org"


class WordPressStack(StackPlugin):
    info = StackInfo(STACK, "WordPress", "WordPress core, plugins and themes")
    sources = (
        SourceInfo(
            SOURCE_NAME,
            DEFAULT_API_URL,
            "api.wordpress.org core version check and plugin/theme update checks",
        ),
        SourceInfo(
            wordfence.WORDFENCE,
            wordfence.DEFAULT_URL,
            "Wordfence Intelligence vulnerability feed (scanner format), on by default",
        ),
        SourceInfo(
            wpscan.WPSCAN,
            wpscan.DEFAULT_URL,
            "WPScan API v3, used when sources.wpscan.token is set",
        ),
    )
    settings = (
        SettingsInfo("options", STACK, WordPressOptions),
        SettingsInfo("sources", wordfence.WORDFENCE, TokenSettings),
        SettingsInfo("sources", wpscan.WPSCAN, TokenSettings),
    )

    def detect_paths(self) -> list[str]:
        return detect_paths()

    def detect(self, site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
        return detect_wordpress(site, files)

    def inventory(self, site: SiteContext) -> list[Component]:
        return list_components(site)

    def evaluate(self, site: SiteContext, components: list[Component]) -> list[Finding]:
        findings = evaluate(site, components)
        apply_vulnerabilities(site, findings)
        return findings

    # Apply: imported when a command loads playbooks, so `tma check` never pays for them.
    def register_steps(self, register: Callable[[StepInfo], None]) -> None:
        from tma_wordpress.steps import STEPS

        for step in STEPS:
            register(step)

    def deploy_plan(self, site: Site) -> ApplyPlan | None:
        """After `tma deploy`: install exactly what the tested commit's lock files say."""
        return ApplyPlan("wordpress-deploy")

    def apply_plan(self, site: Site, findings: list[Finding]) -> ApplyPlan | None:
        from tma_wordpress.apply_plan import wordpress_apply_plan

        return wordpress_apply_plan(self.name, findings)

    def site_database(self, ctx: StepContext) -> SiteDatabase | None:
        """The site's database as its settings file says (read, never executed)."""
        # Imported here: checking sites needs none of the apply machinery.
        from tma_wordpress.database import read_database

        return read_database(ctx.host, ctx.path)

    def maintenance_commands(self, ctx: StepContext, enable: bool) -> list[list[str]] | None:
        return maintenance.maintenance_commands(ctx.host, ctx.path, enable)
