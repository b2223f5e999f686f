"""A failing source never erases what is known, end to end: the real `tma check` CLI over the
real sshd and the local twin, real trees, the local feed server answering in the real formats
with one source failing at a time; `--fail-on` and the JSON Schema of the output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from check_schema import assert_valid_check_output
from tma_drupal.testing.feeds import (
    drupal7_histories,
    drupal10_histories,
    release,
    serve_release_histories,
)
from tma_drupal.testing.trees import build_drupal7, build_drupal10
from tma_npm.testing.answers import packument, serve_npm_registry
from tma_npm.testing.trees import build_npm_site
from tma_wordpress.testing.answers import serve_wordpress_api
from tma_wordpress.testing.feeds import serve_wordfence
from tma_wordpress.testing.trees import build_wordpress

from tma_agent.testing.cli import run_tma
from tma_agent.testing.composer_answers import advisories_route
from tma_agent.testing.feeds import FeedServer, Reply
from tma_agent.testing.sshd import SSHServer

D10_FEEDS = drupal10_histories(
    ["pathauto"], core=[release("10.3.1", "Security update"), release("10.2.3")]
)
D7_FEEDS = drupal7_histories()
ADVISORIES_PATH = "/api/security-advisories/"
BULK_PATH = "/-/npm/v1/security/advisories/bulk"
#: One failing answer per way a source breaks: the others must not care.
FAILURES = {
    "http-500": Reply("oops", status=500),
    "http-405": Reply("Method Not Allowed", status=405),
    "http-404": Reply("not found", status=404),
    "garbage": Reply("<html>maintenance</html>"),
    # A feed that trickles a byte every half second: only the run's `http.timeout` stops it.
    "trickle": Reply("[" * 400, drip=0.5),
}
HTTP_TIMEOUT = 3


def _fleet(sshd: SSHServer, tmp_path: Path, server: FeedServer) -> Path:
    shared = sshd.make_shared_dir()
    d10 = build_drupal10(shared / "d10", modules={"pathauto": "8.x-1.12"}).project_root
    d7 = build_drupal7(shared / "d7").project_root
    wp = build_wordpress(shared / "wp", plugins={"akismet": "5.0.2"})
    front = shared / "front"
    build_npm_site(front, dependencies={"lodash": ("^4.17.0", "4.17.20")})
    ssh = f"ssh://{sshd.user}@127.0.0.1:{sshd.port}"
    environments = {
        "d10-ssh": {"host": ssh, "path": str(d10)},
        "d10-local": {"host": "local", "path": str(d10)},
        "wp-ssh": {"host": ssh, "path": str(wp)},
        "npm-ssh": {"host": ssh, "path": str(front)},
        "d7-local": {"host": "local", "path": str(d7)},
    }
    drupal = serve_release_histories(server, D10_FEEDS)
    serve_release_histories(server, D7_FEEDS, api="7.x")
    server.routes[ADVISORIES_PATH] = advisories_route({})
    serve_wordpress_api(server, core_releases=["6.7.1", "6.1.9"], plugins={"akismet": "5.3.5"})
    lodash = packument("lodash", ["4.17.20", "4.17.21"], full=True)
    registry = serve_npm_registry(server, packuments={"lodash": lodash})
    config = {
        "state_dir": str(tmp_path / "state"),
        "http": {"timeout": HTTP_TIMEOUT, "retries": 2},
        "ssh": {
            "key_file": str(sshd.client_key_path),
            "known_hosts": str(sshd.known_hosts_path),
            "use_agent": False,
        },
        "sources": {
            "drupal": {"url": drupal},
            "wordpress": {"url": server.url},
            "wordfence": {"url": serve_wordfence(server, [])},
            "packagist": {"url": server.url},
            "npm": {"url": registry},
        },
        "clients": [{"id": "acme", "name": "ACME"}],
        "sites": [
            {"id": name, "client": "acme", "environments": {"production": env}}
            for name, env in environments.items()
        ],
    }
    path = tmp_path / "tma.yaml"
    path.write_text(json.dumps(config))
    return path


def tma(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_tma("check", "--format", "json", *args, config=config)


def reports_of(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    document = json.loads(result.stdout)
    assert_valid_check_output(document)
    return {r["site"]: r for r in document["sites"]}


def components(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["components"]}


@pytest.mark.parametrize("failure", list(FAILURES), ids=list(FAILURES))
def test_each_security_source_failing_keeps_the_release_verdicts(
    sshd: SSHServer, tmp_path: Path, feed_server: FeedServer, failure: str
) -> None:
    config = _fleet(sshd, tmp_path, feed_server)
    healthy = reports_of(tma(config))
    assert {r["status"] for r in healthy.values()} <= {"ok", "updates"}
    for path in (ADVISORIES_PATH, BULK_PATH, "/api/intelligence/v2/vulnerabilities/scanner"):
        feed_server.routes[path] = FAILURES[failure]
    # A fresh state dir: the HTTP cache must not answer for the broken sources.
    config.write_text(config.read_text().replace("/state", "/state-broken"))
    result = tma(config, "--fail-on", "security")
    reports = reports_of(result)
    assert result.returncode == 1, result.stderr
    if failure == "trickle":
        assert f"timed out after {HTTP_TIMEOUT}s" in json.dumps(reports["d10-ssh"])
    for site, source in (("d10-ssh", "packagist"), ("wp-ssh", "wordfence"), ("npm-ssh", "npm")):
        report = reports[site]
        assert report["status"] == "partial", report
        assert [e["source"] for e in report["source_errors"]] == [source]
        url = report["source_errors"][0]["url"]
        assert url.startswith(feed_server.url) and url in report["error"]
        # What the working sources said is still there, component by component.
        before, after = components(healthy[site]), components(report)
        assert set(after) == set(before)
        for name, found in after.items():
            assert (found["update"], found["recommended"]) == (
                before[name]["update"],
                before[name]["recommended"],
            ), (site, name)
        assert any(c["advisories_unavailable"] for c in after.values())
        assert f"--fail-on security: {site}: security data unavailable" in result.stderr
        assert f"{source} failed" in result.stderr
    # The SSH and local twins agree, failure included.
    assert reports["d10-ssh"]["components"] == reports["d10-local"]["components"]
    # Drupal 7 reads no security source that failed: clean, and it passes on its own.
    assert reports["d7-local"]["status"] == "ok"
    assert tma(config, "--site", "d7-local", "--fail-on", "security").returncode == 0


def test_fail_on_updates_and_error(
    sshd: SSHServer, tmp_path: Path, feed_server: FeedServer
) -> None:
    config = _fleet(sshd, tmp_path, feed_server)
    feed_server.routes["/release-history/pathauto/current"] = Reply("oops", status=500)
    partial = tma(config, "--site", "d10-ssh", "--fail-on", "error")
    assert partial.returncode == 1
    assert "--fail-on error: d10-ssh: partial: source drupal failed" in partial.stderr
    report = reports_of(partial)["d10-ssh"]
    assert components(report)["drupal"]["update"] == "security"
    assert components(report)["pathauto"]["advisories_unavailable"] is True
    # Security: core is a security update; the failed feed is a security source too.
    security = tma(config, "--site", "d10-ssh", "--fail-on", "security")
    assert security.returncode == 1 and "security findings (drupal)" in security.stderr
    updates = tma(config, "--site", "d7-local", "--fail-on", "updates", "--fail-on", "error")
    assert updates.returncode == 0, updates.stderr
    assert tma(config, "--site", "wp-ssh", "--fail-on", "updates").returncode == 1
    unknown = tma(config, "--fail-on", "nonsense")
    assert unknown.returncode == 2 and "nonsense" in unknown.stderr


def test_schema_rejects_what_the_report_never_says() -> None:
    site = {
        "site": "s",
        "stack": "drupal",
        "env": "production",
        "status": "partial",
        "error": "source drupal failed: http://127.0.0.1:9/x: HTTP 500",
        "components": [],
        "source_errors": [{"source": "drupal", "url": "http://127.0.0.1:9/x", "error": "HTTP 500"}],
    }
    assert_valid_check_output({"sites": [site]})
    for broken in (
        {**site, "source_errors": []},  # partial without the failed source
        {**site, "status": "ok"},  # ok with an error and a failed source
        {**site, "status": "fine"},
        {k: v for k, v in site.items() if k != "source_errors"},
    ):
        with pytest.raises(AssertionError):
            assert_valid_check_output({"sites": [broken]})


def test_the_table_shows_what_could_not_be_evaluated(
    sshd: SSHServer, tmp_path: Path, feed_server: FeedServer
) -> None:
    config = _fleet(sshd, tmp_path, feed_server)
    feed_server.routes["/release-history/pathauto/current"] = Reply("oops", status=500)
    table = run_tma("check", "--site", "d10-ssh", "--format", "table", config=config)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert any("d10-ssh" in line and "partial" in line for line in lines), table.stdout
    # pathauto has no verdict and no security data: listed, with why, never left out as clean.
    notes = lines[lines.index("not evaluated:") + 1 :]
    assert any("pathauto" in line and "security data unavailable" in line for line in notes)
