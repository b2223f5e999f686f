"""Secrets read through `$env`/`$file` (and URL passwords) never reach what a user sees:
reports, errors, config errors, logs. End to end through the real `tma` CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tma_drupal.testing.trees import build_drupal10

from tma_agent._masking import mask, remember_secret
from tma_agent.errors import FeedError, HostError
from tma_agent.testing.cli import run_tma
from tma_agent.testing.feeds import FeedServer, Reply

TOKEN = "s3cr3t-mirror-T0ken"


def tma(config: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_tma(*args, config=config, env=env, timeout=120)


def _config(tmp_path: Path, sources: dict[str, Any], site_env: dict[str, Any]) -> Path:
    config = {
        "state_dir": str(tmp_path / "state"),
        "http": {"retries": 1},
        "sources": sources,
        "clients": [{"id": "acme", "name": "ACME"}],
        "sites": [{"id": "www", "client": "acme", "environments": {"production": site_env}}],
    }
    path = tmp_path / "tma.yaml"
    path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    return path


def test_a_failing_credentialed_mirror_is_reported_without_its_secret(tmp_path: Path) -> None:
    site = build_drupal10(tmp_path / "d10").project_root
    with FeedServer() as server:
        server.routes["/release-history/drupal/current"] = Reply("mirror down", status=503)
        mirror = server.url.replace("http://", f"http://deploy:{TOKEN}@") + "/release-history"
        literal = server.url.replace("http://", "http://ci:in-clear-Passw0rd@") + "/nothing"
        config = _config(
            tmp_path,
            {"drupal": {"url": {"$env": "TMA_TEST_MIRROR"}}, "packagist": {"url": literal}},
            {"host": "local", "path": str(site)},
        )
        done = tma(
            config,
            "--log-format",
            "json",
            "-vv",
            "check",
            "--format",
            "json",
            env={"TMA_TEST_MIRROR": mirror},
        )
        assert any(r.headers.get("Authorization") for r in server.requests)  # it was sent
        table = tma(config, "check", "--format", "table", env={"TMA_TEST_MIRROR": mirror})
    assert "deploy:***@127.0.0.1" in table.stdout
    assert TOKEN not in table.stdout + table.stderr
    (report,) = json.loads(done.stdout)["sites"]
    assert report["status"] in ("error", "partial"), report
    shown = report["error"] or json.dumps(report["source_errors"])
    # Still says which server failed, with the user name; only the password is gone.
    assert f"http://deploy:***@127.0.0.1:{server.url.rsplit(':', 1)[1]}" in shown
    for secret in (TOKEN, "in-clear-Passw0rd"):
        assert secret not in done.stdout
        assert secret not in done.stderr
    assert "http.fetch" in done.stderr  # the debug log ran, masked too


def test_a_config_error_on_a_secret_value_does_not_print_it(tmp_path: Path) -> None:
    config = _config(tmp_path, {}, {"host": {"$env": "TMA_TEST_HOST"}, "path": "/srv/www"})
    for value, hidden in (
        ("ssh://deploy:hunter2-Pass@prod.example", "hunter2-Pass"),
        ("s3cr3t-host-name-in-env", "s3cr3t-host-name-in-env"),
    ):
        done = tma(config, "config", "validate", env={"TMA_TEST_HOST": value})
        assert done.returncode == 2
        assert done.stderr.startswith("configuration error: tma.yaml:")
        assert "sites[0].environments.production.host: invalid host" in done.stderr
        assert "***" in done.stderr
        assert hidden not in done.stderr and hidden not in done.stdout


def test_errors_are_masked_when_built() -> None:
    remember_secret("https://alice:w0nderland-key@mirror.example/repo?token=qu3ry-secret")
    error = FeedError("https://alice:w0nderland-key@mirror.example/repo/x.json", "HTTP 500")
    assert error.url == "https://alice:***@mirror.example/repo/x.json"
    assert str(error) == "https://alice:***@mirror.example/repo/x.json: HTTP 500"
    assert "qu3ry-secret" not in str(HostError("asked ?token=qu3ry-secret"))
    # The secret percent-encoded in a form or URL is masked too.
    remember_secret("p@ss word/1")
    assert mask("sent p%40ss%20word%2F1 and p@ss word/1") == "sent *** and ***"
    # A URL password nobody declared is still a password.
    assert mask("ssh://u:pw-literal@h:22 and http://host/x") == "ssh://u:***@h:22 and http://host/x"
