"""Update policies: ignore rules, allowed update kinds, minimum release age, pins."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import structlog
from tma_drupal.testing.feeds import (
    drupal10_histories,
    release,
    serve_release_histories,
)
from tma_drupal.testing.trees import build_drupal10

from tma_agent.config import Config, Policy, load_config
from tma_agent.models import Finding
from tma_agent.plugins import get_plugin_manager
from tma_agent.policies import apply_policy, needs_work
from tma_agent.runner import CheckRun
from tma_agent.sources import Fetcher
from tma_agent.testing.composer_answers import advisories_route
from tma_agent.testing.feeds import FeedServer

TODAY = date(2026, 11, 28)
LOG = structlog.get_logger()


def finding(
    name: str, installed: str, recommended: str, update: str = "bugfix", **kw: object
) -> Finding:
    return Finding(name, "module", installed, recommended, recommended, update, **kw)  # type: ignore[arg-type]


def apply(policy: Policy, *findings: Finding) -> list[Finding]:
    apply_policy(findings, policy, today=TODAY, log=LOG)
    return list(findings)


def test_ignore_rule_with_versions_and_expiry() -> None:
    policy = Policy.model_validate(
        {
            "ignore": [
                {
                    "component": "ctools",
                    "versions": "<4.1",
                    "reason": "waiting for client",
                    "until": "2027-01-31",
                }
            ]
        }
    )
    old, new = apply(
        policy, finding("ctools", "4.0.3", "4.0.4"), finding("ctools", "4.1.0", "4.1.2")
    )
    assert (old.policy, old.policy_reason) == ("ignored", "waiting for client (until 2027-01-31)")
    assert new.policy is None and needs_work(new)
    assert not needs_work(old) and old.update == "bugfix"  # the verdict stays visible


def test_expired_ignore_rule_no_longer_applies() -> None:
    policy = Policy.model_validate(
        {"ignore": [{"component": "ctools", "reason": "x", "until": "2026-11-27"}]}
    )
    (f,) = apply(policy, finding("ctools", "4.0.3", "4.0.4"))
    assert f.policy is None


def test_ignore_pattern_and_legacy_drupal_versions() -> None:
    policy = Policy.model_validate(
        {"ignore": [{"component": "webform*", "versions": "<1.3", "reason": "custom patch"}]}
    )
    legacy, newer = apply(
        policy,
        finding("webform_ui", "8.x-1.2", "8.x-1.4"),
        finding("webform", "8.x-1.3", "8.x-1.4"),
    )
    assert legacy.policy == "ignored" and newer.policy is None


def test_allow_filters_by_update_size_but_security_is_always_security() -> None:
    policy = Policy.model_validate({"allow": ["security", "patch", "minor"]})
    patch, minor, major, sec_major = apply(
        policy,
        finding("a", "1.2.3", "1.2.4"),
        finding("b", "1.2.3", "1.3.0", "feature"),
        finding("c", "1.2.3", "2.0.0", "feature"),
        finding("d", "1.2.3", "2.0.1", "security"),
    )
    assert patch.policy is None and minor.policy is None and sec_major.policy is None
    assert major.policy == "not_allowed"
    assert major.policy_reason == "major updates are not allowed (allow: security, patch, minor)"


def test_security_only_holds_back_plain_updates() -> None:
    policy = Policy.model_validate({"allow": ["security"]})
    plain, sec = apply(
        policy, finding("a", "1.2.3", "1.2.4"), finding("b", "1.2.3", "1.2.4", "security")
    )
    assert plain.policy == "not_allowed" and sec.policy is None


def test_magento_patch_release_is_a_patch() -> None:
    policy = Policy.model_validate({"allow": ["patch"]})
    (f,) = apply(policy, finding("magento/product-community-edition", "2.4.7", "2.4.7-p3"))
    assert f.policy is None


def test_min_release_age_holds_back_young_releases_not_security() -> None:
    policy = Policy.model_validate({"min_release_age_days": 3})
    young, old, young_security, undated = apply(
        policy,
        finding("a", "1.0.0", "1.0.1", released="2026-11-27"),
        finding("b", "1.0.0", "1.0.1", released="2026-11-20T10:00:00+00:00"),
        finding("c", "1.0.0", "1.0.1", "security", released="2026-11-28"),
        finding("d", "1.0.0", "1.0.1"),
    )
    assert young.policy == "too_recent"
    assert young.policy_reason == "1.0.1 released 2026-11-27, 1 days ago (minimum 3)"
    assert old.policy is None and young_security.policy is None and undated.policy is None


def test_pin_holds_back_even_security() -> None:
    policy = Policy.model_validate({"pin": {"drupal": "~10.3.0"}})
    inside, outside = apply(
        policy,
        finding("drupal", "10.3.1", "10.3.6", "security"),
        Finding("drupal", "core", "10.3.1", "11.0.1", "11.0.1", "feature"),
    )
    assert inside.policy is None
    assert (outside.policy, outside.policy_reason) == ("not_allowed", "pinned to ~10.3.0")


def test_levels_merge_global_client_site(tmp_path: Path) -> None:
    config = Config.model_validate(
        {
            "policies": {
                "allow": ["security", "patch"],
                "min_release_age_days": 3,
                "ignore": [{"component": "a", "reason": "global"}],
            },
            "clients": [
                {
                    "id": "c",
                    "name": "C",
                    "policies": {
                        "min_release_age_days": 0,
                        "ignore": [{"component": "b", "reason": "client"}],
                    },
                }
            ],
            "sites": [
                {
                    "id": "s",
                    "client": "c",
                    "policies": {"allow": ["security"]},
                    "environments": {"production": {"path": "/x"}},
                }
            ],
        }
    )
    merged = config.policy_for(config.sites[0])
    assert merged.allow == ["security"] and merged.min_release_age_days == 0
    assert [r.reason for r in merged.ignore] == ["global", "client"]


def test_check_shows_held_back_components_and_site_status(tmp_path: Path) -> None:
    tree = build_drupal10(
        tmp_path / "site", core="10.2.3", modules={"pathauto": "8.x-1.12", "token": "8.x-1.12"}
    )
    with FeedServer() as server:
        base = serve_release_histories(
            server,
            drupal10_histories(core=[release("10.2.4"), release("10.2.3")], core_branches="10.2."),
        )
        server.routes["/api/security-advisories/"] = advisories_route({})
        config_path = tmp_path / "tma.yaml"
        config_path.write_text(
            json.dumps(
                {
                    "state_dir": str(tmp_path / "state"),
                    "sources": {"drupal": {"url": base}, "packagist": {"url": server.url}},
                    "policies": {
                        "allow": ["security", "patch"],
                        "ignore": [{"component": "pathauto", "reason": "patched locally"}],
                    },
                    "clients": [
                        {
                            "id": "c",
                            "name": "C",
                            "policies": {"ignore": [{"component": "drupal", "reason": "frozen"}]},
                        }
                    ],
                    "sites": [
                        {
                            "id": "s",
                            "client": "c",
                            "environments": {"production": {"path": str(tree.project_root)}},
                        }
                    ],
                }
            )
        )
        config = load_config(config_path)
        with Fetcher() as fetcher:
            (report,) = CheckRun(config, get_plugin_manager(), fetcher=fetcher, today=TODAY).run(
                config.sites
            )
    by_name = {c.name: c for c in report.components}
    assert (by_name["pathauto"].policy, by_name["pathauto"].policy_reason) == (
        "ignored",
        "patched locally",
    )
    assert (by_name["drupal"].policy, by_name["drupal"].policy_reason) == ("ignored", "frozen")
    # 8.x-1.12 -> 8.x-1.13 is 1.12.0 -> 1.13.0 for Composer: a minor update, not allowed here.
    assert by_name["token"].update == "bugfix" and by_name["token"].policy == "not_allowed"
    assert report.status == "ok"  # everything that needs work is held back, and says why
    assert report.to_dict()["components"][0]["policy"] is not None


def test_drupal_release_dates_drive_min_release_age(tmp_path: Path) -> None:
    tree = build_drupal10(tmp_path / "site", core="10.2.3", modules={"token": "8.x-1.12"})
    yesterday = int(datetime(2026, 11, 27, 12, tzinfo=UTC).timestamp())
    with FeedServer() as server:
        base = serve_release_histories(
            server,
            drupal10_histories(
                ["token"],
                core=[release("10.2.3")],
                core_branches="10.2.",
                module_releases=[release("8.x-1.13", date=yesterday), release("8.x-1.12")],
            ),
        )
        server.routes["/api/security-advisories/"] = advisories_route({})
        config = Config.model_validate(
            {
                "sources": {"drupal": {"url": base}, "packagist": {"url": server.url}},
                "policies": {"min_release_age_days": 3},
                "clients": [{"id": "c", "name": "C"}],
                "sites": [
                    {
                        "id": "s",
                        "client": "c",
                        "environments": {"production": {"path": str(tree.project_root)}},
                    }
                ],
            }
        )
        with Fetcher() as fetcher:
            (report,) = CheckRun(config, get_plugin_manager(), fetcher=fetcher, today=TODAY).run(
                config.sites
            )
    token = next(c for c in report.components if c.name == "token")
    assert token.released == "2026-11-27"
    assert token.policy == "too_recent"
    assert token.policy_reason == "8.x-1.13 released 2026-11-27, 1 days ago (minimum 3)"
    assert report.status == "ok"
