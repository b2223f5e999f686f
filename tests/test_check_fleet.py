"""`tma check` end to end: a config file, a fleet of real trees on local and SSH hosts (a real
sshd), feeds served locally in the real formats. What one site does never stops the others."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from check_schema import assert_valid_check_output
from tma_drupal.testing.feeds import (
    drupal7_histories,
    drupal10_histories,
    serve_release_histories,
)
from tma_drupal.testing.trees import build_drupal7, build_drupal10
from tma_wordpress.testing.answers import serve_wordpress_api
from tma_wordpress.testing.feeds import serve_wordfence
from tma_wordpress.testing.trees import build_wordpress

from tma_agent.config import Config, load_config
from tma_agent.plugins import get_plugin_manager
from tma_agent.runner import CheckRun
from tma_agent.sources import Fetcher
from tma_agent.testing.cli import run_tma
from tma_agent.testing.composer_answers import advisories_route
from tma_agent.testing.feeds import FeedServer, Reply
from tma_agent.testing.sshd import SSHServer

D10_FEEDS = drupal10_histories()
D7_FEEDS = drupal7_histories()


@dataclass
class Fleet:
    config: Path
    server: FeedServer
    sites: dict[str, Any]


def _ssh_env(sshd: SSHServer, path: Path, **ssh: Any) -> dict[str, Any]:
    return {"host": f"ssh://{sshd.user}@127.0.0.1:{sshd.port}", "path": str(path), "ssh": ssh}


@pytest.fixture
def fleet(sshd: SSHServer, tmp_path: Path) -> Iterator[Fleet]:
    shared = sshd.make_shared_dir()
    d10 = build_drupal10(shared / "d10").project_root
    d7 = build_drupal7(shared / "d7").project_root
    wp = build_wordpress(
        shared / "wp",
        plugins={"akismet": "5.0.2", "hello.php": "1.7.2"},
        themes={"twentytwentythree": "1.0"},
    )
    broken_feed_site = build_drupal10(shared / "d10-broken", modules={"brokenfeed": "8.x-1.0"})
    (shared / "empty").mkdir()
    other_key = tmp_path / "other_known_hosts"
    other_key.write_text(
        f"[127.0.0.1]:{sshd.port} ssh-ed25519 "
        "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
    )
    empty_known = tmp_path / "empty_known_hosts"
    empty_known.write_text("")
    environments = {
        "d10-local": {"host": "local", "path": str(d10)},
        "d10-ssh": _ssh_env(sshd, d10),
        "d7-local": {"host": "local", "path": str(d7)},
        "d7-ssh": _ssh_env(sshd, d7),
        "wp-local": {"host": "local", "path": str(wp)},
        "wp-ssh": _ssh_env(sshd, wp),
        "unknown-key": _ssh_env(sshd, d10, known_hosts=str(empty_known)),
        "changed-key": _ssh_env(sshd, d10, known_hosts=str(other_key)),
        "nobody-listens": {"host": "ssh://deploy@127.0.0.1:9", "path": "/srv/x"},
        "not-a-site": {"host": "local", "path": str(shared / "empty")},
        "no-such-dir": _ssh_env(sshd, shared / "gone"),
        "bad-feed": {"host": "local", "path": str(broken_feed_site.project_root)},
    }
    with FeedServer() as server:
        drupal_base = serve_release_histories(server, D10_FEEDS)
        serve_release_histories(server, D7_FEEDS, api="7.x")
        server.routes["/api/security-advisories/"] = advisories_route({})
        server.routes["/release-history/brokenfeed/current"] = Reply("<html>oops", status=200)
        serve_wordpress_api(
            server,
            core_releases=["6.7.1", "6.1.9"],
            plugins={"akismet": "5.3.5", "hello": "1.7.2"},
            themes={"twentytwentythree": "1.0"},
        )
        config = {
            "state_dir": str(tmp_path / "state"),
            "ssh": {
                "key_file": str(sshd.client_key_path),
                "known_hosts": str(sshd.known_hosts_path),
                "use_agent": False,
                "connect_timeout": 5,
            },
            "sources": {
                "drupal": {"url": drupal_base},
                "wordpress": {"url": server.url},
                "wordfence": {"url": serve_wordfence(server, [])},
                "packagist": {"url": server.url},
            },
            "clients": [{"id": "acme", "name": "ACME"}],
            "sites": [
                {"id": name, "client": "acme", "environments": {"production": env}}
                for name, env in environments.items()
            ],
        }
        path = tmp_path / "tma.yaml"
        path.write_text(json.dumps(config, indent=1))  # JSON is YAML
        yield Fleet(path, server, environments)


def tma(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_tma("check", *args, config=config)


def by_site(stdout: str) -> dict[str, dict[str, Any]]:
    document = json.loads(stdout)
    assert list(document) == ["sites"]
    assert_valid_check_output(document)  # docs/check-output.schema.json
    return {report["site"]: report for report in document["sites"]}


def test_fleet_json_same_findings_over_ssh_and_local_and_failures_isolated(fleet: Fleet) -> None:
    result = tma(fleet.config, "--format", "json", "--concurrency", "4")
    assert result.returncode == 0, result.stderr
    reports = by_site(result.stdout)
    assert list(reports) == list(fleet.sites)  # config order, every site reported
    for stack, status in (("d10", "updates"), ("d7", "ok"), ("wp", "updates")):
        local, remote = reports[f"{stack}-local"], reports[f"{stack}-ssh"]
        assert local["status"] == status, local
        assert len(local["components"]) >= 3
        assert local["components"] == remote["components"]
        assert (local["stack"], local["status"]) == (remote["stack"], remote["status"])
    assert reports["d10-local"]["stack"] == "drupal"
    assert reports["wp-local"]["stack"] == "wordpress"
    core = next(c for c in reports["d10-ssh"]["components"] if c["name"] == "drupal")
    assert (core["update"], core["recommended"], core["latest"]) == ("security", "10.3.1", "10.3.1")
    required = {"name", "kind", "installed", "latest", "recommended", "update", "advisories"}
    assert required | {"source", "policy", "policy_reason"} <= set(core)

    unknown = reports["unknown-key"]
    assert unknown["status"] == "unreachable"
    assert f"[127.0.0.1]:{fleet_port(fleet)}" in unknown["error"]
    assert "SHA256:" in unknown["error"]
    changed = reports["changed-key"]
    assert changed["status"] == "unreachable" and "SHA256:" in changed["error"]
    assert reports["nobody-listens"]["status"] == "unreachable"
    assert reports["not-a-site"]["status"] == "error"
    assert "is not a site of any known stack" in reports["not-a-site"]["error"]
    gone = reports["no-such-dir"]
    assert (gone["status"], gone["error"]) == (
        "error",
        f"{fleet.sites['d10-ssh']['host'].split('//')[1]}:{fleet.sites['no-such-dir']['path']}: "
        "no such directory",
    )
    bad = reports["bad-feed"]
    # Core's feed answered: the site is partial, the failing feed named.
    assert bad["status"] == "partial" and "/release-history/brokenfeed/current" in bad["error"]
    assert [e["source"] for e in bad["source_errors"]] == ["drupal"]
    assert "Traceback" not in result.stderr


def fleet_port(fleet: Fleet) -> str:
    return fleet.sites["d10-ssh"]["host"].rsplit(":", 1)[1]


def test_fail_on_security_sets_exit_code_1(fleet: Fleet) -> None:
    only_d10 = tma(fleet.config, "--site", "d10-local", "--fail-on", "security")
    assert only_d10.returncode == 1, only_d10.stderr
    only_d7 = tma(fleet.config, "--site", "d7-local", "--fail-on", "security")
    assert only_d7.returncode == 0, only_d7.stderr
    assert by_site(only_d7.stdout)["d7-local"]["status"] == "ok"
    # Nothing could be read: its security is unknown, so it never passes.
    unreachable = tma(fleet.config, "--site", "nobody-listens", "--fail-on", "security")
    assert unreachable.returncode == 1
    assert "--fail-on security: nobody-listens: security data could not be read" in (
        unreachable.stderr
    )


def test_site_and_stack_filters(fleet: Fleet) -> None:
    picked = by_site(tma(fleet.config, "--site", "wp-ssh", "--site", "d7-local").stdout)
    assert list(picked) == ["wp-ssh", "d7-local"]
    wordpress = tma(fleet.config, "--stack", "wordpress", "--format", "json")
    assert wordpress.returncode == 0, wordpress.stderr
    # Only sites detected as WordPress; unreachable ones cannot be told apart and are reported.
    reports = by_site(wordpress.stdout)
    assert {"wp-local", "wp-ssh"} <= set(reports)
    assert not {"d10-local", "d7-ssh", "not-a-site"} & set(reports)


def test_json_logs_on_stderr_and_table_format(fleet: Fleet) -> None:
    result = tma(fleet.config, "--site", "d10-local", "--format", "table")
    assert result.returncode == 0, result.stderr
    assert "d10-local" in result.stdout and "pathauto" in result.stdout
    verbose = subprocess.run(
        [
            sys.executable,
            "-m",
            "tma_agent",
            "--config",
            str(fleet.config),
            "-v",
            "--log-format",
            "json",
            "check",
            "--site",
            "d10-local",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    events = [json.loads(line) for line in verbose.stderr.splitlines() if line.startswith("{")]
    assert any(e.get("event") == "checked" and e.get("site") == "d10-local" for e in events)


def test_many_sites_share_each_feed_fetch(fleet: Fleet, tmp_path: Path) -> None:
    config = load_config(fleet.config)
    template = config.sites[0]  # d10-local
    many = [template.model_copy(update={"id": f"clone-{i}"}) for i in range(25)]
    pm = get_plugin_manager()
    with Fetcher(cache_dir=tmp_path / "cache") as fetcher:
        run = CheckRun(config, pm, fetcher=fetcher)
        reports = run.run(many, concurrency=8)
    assert [r.status for r in reports] == ["updates"] * 25
    assert set(fetcher.sent.values()) == {1}
    hits = Counter(p for p in fleet.server.hits if p.startswith("/release-history/"))
    assert all(fleet.server.hits[p] == 1 for p in hits), fleet.server.hits
    assert max(run.round_trips.values()) <= 2


BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
    "<project><title>&lol3;</title></project>\n"
)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply("{not xml at all"), "invalid XML"),
        (Reply("oops", status=500), "HTTP 500"),
        (Reply(D10_FEEDS["token"], delay=3.0), "timed out"),
        (Reply(BOMB), "unsafe XML"),
    ],
    ids=["garbage", "http-500", "timeout", "xml-bomb"],
)
def test_a_bad_feed_fails_only_the_components_that_need_it(
    tmp_path: Path, reply: Reply, reason: str
) -> None:
    plain = build_drupal10(tmp_path / "plain", modules={"pathauto": "8.x-1.12"}).project_root
    broken = build_drupal10(tmp_path / "broken", modules={"token": "8.x-1.13"}).project_root
    with FeedServer() as server:
        base = serve_release_histories(
            server, {"drupal": D10_FEEDS["drupal"], "pathauto": D10_FEEDS["pathauto"]}
        )
        server.routes["/release-history/token/current"] = reply
        server.routes["/api/security-advisories/"] = advisories_route({})
        config = Config.model_validate(
            {
                "sources": {"drupal": {"url": base}, "packagist": {"url": server.url}},
                "clients": [{"id": "c", "name": "C"}],
                "sites": [
                    {"id": name, "client": "c", "environments": {"production": {"path": str(p)}}}
                    for name, p in (("plain-1", plain), ("broken", broken), ("plain-2", plain))
                ],
            }
        )
        with Fetcher(timeout=1.0, retries=1) as fetcher:
            reports = CheckRun(config, get_plugin_manager(), fetcher=fetcher).run(config.sites)
    status = {r.site: (r.status, r.error or "") for r in reports}
    assert status["plain-1"][0] == status["plain-2"][0] == "updates"
    broken_status, error = status["broken"]
    assert broken_status == "partial"
    assert f"{base}/token/current" in error and reason in error
    broken_report = next(r for r in reports if r.site == "broken")
    found = {f.name: f for f in broken_report.components}
    assert found["drupal"].update == "security"  # core's feed answered
    assert found["token"].update == "unknown" and found["token"].advisories_unavailable
