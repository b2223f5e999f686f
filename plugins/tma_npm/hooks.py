"""The npm front-end stack as a `StackPlugin`."""

from __future__ import annotations

from collections.abc import Mapping

from tma_agent.apply import ApplyPlan
from tma_agent.config import Site
from tma_agent.context import SiteContext
from tma_agent.hookspecs import hookimpl
from tma_agent.models import Component, Detection, Finding, SourceInfo, StackInfo
from tma_agent.plugin_settings import SettingsInfo
from tma_agent.stack import StackPlugin
from tma_npm.detect import STACK, detect_npm, detect_paths
from tma_npm.evaluate import SOURCE_NAME, evaluate
from tma_npm.inventory import list_components
from tma_npm.plan import npm_plan
from tma_npm.settings import NpmOptions, NpmSourceSettings

__all__ = ["DEFAULT_REGISTRY_URL", "NpmStack"]

DEFAULT_REGISTRY_URL = "https://registry.npmjs.org"


class NpmStack(StackPlugin):
    info = StackInfo(
        STACK,
        "npm front end (React, Angular, Vue...)",
        "JavaScript projects installed with npm: packages from package-lock.json",
    )
    sources = (
        SourceInfo(
            SOURCE_NAME,
            DEFAULT_REGISTRY_URL,
            "the npm registry: package metadata and the bulk security advisory endpoint",
        ),
    )
    settings = (
        SettingsInfo("options", STACK, NpmOptions),
        SettingsInfo("sources", SOURCE_NAME, NpmSourceSettings),
    )

    def detect_paths(self) -> list[str]:
        return detect_paths()

    def detect(self, site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
        return detect_npm(site, files)

    def inventory(self, site: SiteContext) -> list[Component]:
        return list_components(site)

    def evaluate(self, site: SiteContext, components: list[Component]) -> list[Finding]:
        return evaluate(site, components)

    @hookimpl(trylast=True)
    def tma_detect_stack(
        self, site: SiteContext, files: Mapping[str, str | None]
    ) -> Detection | None:
        # Asked last: a CMS or Composer project that builds its theme with npm keeps its own
        # stack (detect.py).
        return super().tma_detect_stack(site, files)

    # -- applying updates (docs/apply.md) ----------------------------------------------------
    def deploy_plan(self, site: Site) -> ApplyPlan | None:
        """After `tma deploy`: install exactly what the tested commit's lock files say."""
        from tma_agent.plugin_settings import typed_settings
        from tma_npm.settings import NpmOptions

        options = typed_settings(NpmOptions, site.options, f"site {site.id}: options")
        return ApplyPlan(
            "npm-deploy", {"scripts": options.npm_scripts, "npm_dir": options.npm_dir or "."}
        )

    def apply_plan(self, site: Site, findings: list[Finding]) -> ApplyPlan | None:
        return npm_plan(site, findings)
