"""What the stacks' `tma_apply_plan` answers share: which findings an apply acts on, and the
checks that keep a component name or a version read from a feed or a site tree plain data.

A name or a version ends up as one argv item of `composer`, `npm` or a console command. The
Host quotes argv items, so nothing here is about quoting: a name that does not look like a
package name (`$(touch /tmp/pwned)`, `--global`, `../x`) is refused with one line naming the
site, before any playbook starts, so a hostile feed cannot even make a command misbehave
through an option-looking argument.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator

from tma_agent.apply import ApplyPlan
from tma_agent.errors import TmaError
from tma_agent.models import Finding

__all__ = [
    "ComposerTargets",
    "PlanError",
    "Template",
    "UnsafeFindingError",
    "actionable",
    "composer_name",
    "composer_version",
    "new_major",
    "nothing_to_apply",
    "npm_name",
    "npm_version",
    "prestashop_module_name",
    "prestashop_version",
]

#: Composer's own package name rule (composer/composer `ValidatingArrayLoader`).
_COMPOSER_NAME = re.compile(r"^[a-z0-9]([_.-]?[a-z0-9]+)*/[a-z0-9](([_.]|-{1,2})?[a-z0-9]+)*$")
#: A release version: digits first (an optional `v`), then letters, digits, `.`, `-`, `+`.
_RELEASE = re.compile(r"^v?[0-9]+(\.[0-9]+){0,3}([-+][0-9A-Za-z][0-9A-Za-z.+-]*)?$")
#: npm's name rule (validate-npm-package-name, new packages): lower case, URL-safe, scoped.
_NPM_NAME = re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
#: semver 2.0 (what npm publishes; no `v`, no ranges).
_SEMVER = re.compile(
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)
#: PrestaShop's module name rule (`Validate::isModuleName`: letters, digits, `_`, `-`).
_MODULE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Update kinds an apply acts on; `none` and `unknown` give nothing to install.
_ACTIONABLE = frozenset({"bugfix", "feature", "security", "insecure", "revoked", "unsupported"})


def _a_template(text: str) -> str:
    if "{{" not in text:
        raise ValueError("expected a value or a `{{ variable }}` template")
    return text


#: A step argument written `"{{ modules }}"` in a playbook: a list or mapping once rendered,
#: a template when the playbook is loaded (and checked) before any variable has a value.
Template = Annotated[str, AfterValidator(_a_template)]


class PlanError(TmaError):
    """A stack cannot plan an apply from these findings (nothing to update, a bad name)."""

    exit_code = 2


class UnsafeFindingError(PlanError):
    """A finding's name or version is not plain data of its ecosystem: the apply is refused."""


def nothing_to_apply(site: str) -> PlanError:
    return PlanError(f"site {site}: nothing to apply (no finding has a recommended update)")


def actionable(findings: Iterable[Finding]) -> list[Finding]:
    """Findings with a recommended release other than the installed one, not held back by a
    policy (`ignored`, `too_recent`, `not_allowed`), in their given order."""
    return [
        f
        for f in findings
        if f.update in _ACTIONABLE
        and f.recommended
        and f.recommended != f.installed
        and f.policy is None
    ]


def _checked(site: str, what: str, value: str | None, rule: re.Pattern[str], limit: int) -> str:
    # fullmatch: `$` alone would let a trailing newline through.
    if value is None or len(value) > limit or not rule.fullmatch(value):
        raise UnsafeFindingError(
            f"site {site}: refused to apply: {value!r} is not a {what} "
            "(names and versions are data and must look like one)"
        )
    return value


def composer_name(site: str, name: str | None) -> str:
    return _checked(site, "Composer package name", name, _COMPOSER_NAME, 200)


def composer_version(site: str, version: str | None) -> str:
    return _checked(site, "Composer version", version, _RELEASE, 64)


def npm_name(site: str, name: str | None) -> str:
    return _checked(site, "npm package name", name, _NPM_NAME, 214)


def npm_version(site: str, version: str | None) -> str:
    return _checked(site, "npm version", version, _SEMVER, 64)


def prestashop_module_name(site: str, name: str | None) -> str:
    return _checked(site, "PrestaShop module name", name, _MODULE_NAME, 64)


def prestashop_version(site: str, version: str | None) -> str:
    return _checked(site, "PrestaShop module version", version, _RELEASE, 64)


def new_major(installed: str | None, recommended: str) -> bool:
    """Whether a caret constraint on `installed` would exclude `recommended` (`^1.4` excludes
    2.0, `^0.3` excludes 0.4): such a target needs `composer require`, `update` cannot reach it."""
    old, new = _leading(installed), _leading(recommended)
    if old is None or new is None:
        return False
    if old[0] == 0 and new[0] == 0:
        return old[1] != new[1]
    return old[0] != new[0]


def _leading(version: str | None) -> tuple[int, int] | None:
    match = re.match(r"^v?([0-9]+)(?:\.([0-9]+))?", version or "")
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


class ComposerTargets:
    """What a Composer playbook (`composer-update`, `drupal-composer`, `magento`) is given:
    the packages to update, the `composer require`s a new major (or a pinned core) needs first,
    and the version each must reach (checked in the lock file afterwards)."""

    def __init__(self, site: str) -> None:
        self.site = site
        self.packages: list[str] = []
        self.require: list[str] = []
        self.expect: dict[str, str] = {}

    def add(self, name: str, installed: str | None, target: str, *, pin: bool = False) -> None:
        """`pin`: require exactly `target` (a platform's core), updated first."""
        if pin:
            self.require.append(f"{name}:{target}")
            self.packages.insert(0, name)
        else:
            if new_major(installed, target):
                self.require.append(f"{name}:^{target.removeprefix('v')}")
            self.packages.append(name)
        self.expect[name] = target

    def plan(self, playbook: str) -> ApplyPlan:
        if not self.packages:
            raise nothing_to_apply(self.site)
        variables = {"packages": self.packages, "require": self.require, "expect": self.expect}
        return ApplyPlan(playbook, variables)
