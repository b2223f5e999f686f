"""The Drupal stack as a `StackPlugin` (Drupal 7 and 8 to 11)."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping

from tma_agent.apply import ApplyPlan, StepContext, StepInfo
from tma_agent.apply.database import SiteDatabase
from tma_agent.config import Site
from tma_agent.context import SiteContext
from tma_agent.ecosystems.packagist_advisories import PACKAGIST_SOURCE
from tma_agent.hosts import GlobRequest
from tma_agent.models import Component, Detection, Finding, SourceInfo, StackInfo
from tma_agent.stack import StackPlugin
from tma_drupal import detect, maintenance, steps
from tma_drupal.database import read_database
from tma_drupal.evaluate import evaluate
from tma_drupal.inventory import inventory, likely_globs
from tma_drupal.plan import drupal_plan

__all__ = ["DEFAULT_FEED_URL", "STACK", "DrupalStack"]

STACK = "drupal"
DEFAULT_FEED_URL = "https://updates.drupal.org/release-history"


class DrupalStack(StackPlugin):
    info = StackInfo(
        STACK, "Drupal", "Drupal 7 and 8 to 11: core, contrib modules, themes, profiles"
    )
    sources = (
        SourceInfo(
            STACK, DEFAULT_FEED_URL, "drupal.org release history (update.settings fetch.url)"
        ),
        PACKAGIST_SOURCE,
    )

    def detect_paths(self) -> list[str]:
        return detect.detect_paths()

    def prefetch_globs(self) -> list[GlobRequest]:
        return likely_globs()

    def detect(self, site: SiteContext, files: Mapping[str, str | None]) -> Detection | None:
        facts = detect.core_facts(files)
        if facts is None:
            return None
        root = posixpath.normpath(posixpath.join(site.path, facts.docroot))
        return Detection(stack=STACK, root=root, version=facts.version)

    def inventory(self, site: SiteContext) -> list[Component]:
        return inventory(site)

    def evaluate(self, site: SiteContext, components: list[Component]) -> list[Finding]:
        return evaluate(site, components)

    def site_database(self, ctx: StepContext) -> SiteDatabase | None:
        """The site's database as its settings file says (read, never executed)."""
        return read_database(ctx.host, ctx.path)

    def maintenance_commands(self, ctx: StepContext, enable: bool) -> list[list[str]] | None:
        return maintenance.maintenance_commands(ctx.host, ctx.path, enable)

    # -- applying updates (docs/apply.md) ----------------------------------------------------
    def register_steps(self, register: Callable[[StepInfo], None]) -> None:
        from tma_drupal.steps7 import STEPS

        steps.register_steps(register)
        for step in STEPS:
            register(step)

    def deploy_plan(self, site: Site) -> ApplyPlan | None:
        """After `tma deploy`: install exactly what the tested commit's lock files say."""
        # Drupal 7 and 8+ alike: composer install runs only where composer.lock is.
        return ApplyPlan("drupal-deploy")

    def apply_plan(self, site: Site, findings: list[Finding]) -> ApplyPlan | None:
        from tma_drupal.apply7 import drupal7_apply_plan

        # Drupal 7 sites get their archive playbook; Drupal 8+ (Composer-managed) the other.
        return drupal7_apply_plan(self.name, findings) or drupal_plan(site, findings)
