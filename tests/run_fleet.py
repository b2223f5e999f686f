"""A fleet for `tma run` tests: two Drupal 10 sites of one client on the local host, the feeds
they are checked against (drupal.org's format, served on 127.0.0.1), and the real CLI."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from check_schema import assert_valid
from tma_drupal.testing.feeds import drupal10_histories, release, serve_release_histories
from tma_drupal.testing.trees import build_drupal10

from tma_agent.testing.cli import run_tma
from tma_agent.testing.composer_answers import advisories_route
from tma_agent.testing.feeds import FeedServer

__all__ = ["CORE_NEWER", "CORE_NOW", "Fleet", "actions", "fleet"]

ADVISORIES_PATH = "/api/security-advisories/"
CORE_NOW = [
    release("10.3.1", "New features"),
    release("10.2.4", "Security update"),
    release("10.2.3"),
]
CORE_NEWER = [release("10.3.2", "Security update"), *CORE_NOW]


class Fleet:
    """Two Drupal 10 sites of one client, and the feeds they are checked against."""

    def __init__(self, tmp_path: Path, server: FeedServer) -> None:
        self.tmp_path = tmp_path
        self.server = server
        self.sites = {name: tmp_path / name for name in ("www", "intranet")}
        for path in self.sites.values():
            build_drupal10(path)
        self.feeds(CORE_NOW)
        server.routes[ADVISORIES_PATH] = advisories_route({})
        self.extra: dict[str, Any] = {}
        self.write()

    def feeds(self, core: list[dict[str, Any]]) -> None:
        self.drupal = serve_release_histories(self.server, drupal10_histories(core=core))

    def write(self, **extra: Any) -> None:
        self.extra.update(extra)
        config = {
            "state_dir": str(self.tmp_path / "state"),
            "http": {"timeout": 5, "retries": 1},
            "sources": {"drupal": {"url": self.drupal}, "packagist": {"url": self.server.url}},
            "clients": [{"id": "acme", "name": "ACME"}],
            "sites": [
                {
                    "id": name,
                    "client": "acme",
                    "stack": "drupal",
                    "environments": {
                        "production": {"path": str(path), "url": f"https://{name}.example"}
                    },
                }
                for name, path in self.sites.items()
            ],
            **self.extra,
        }
        self.config = self.tmp_path / "tma.yaml"
        self.config.write_text(json.dumps(config, indent=1))

    @property
    def ledger(self) -> Path:
        return self.tmp_path / "state" / "ledger.db"

    def tma(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_tma(*args, config=self.config)

    def run(self, *args: str, code: int = 0) -> dict[str, Any]:
        """`tma run --format json`: its exit code checked, its output checked against the
        documented schema (docs/run-output.schema.json)."""
        done = self.tma("run", "--format", "json", *args)
        assert done.returncode == code, done.stderr
        summary = json.loads(done.stdout)
        assert_valid(summary, "run-output.schema.json")
        return summary

    def requests(self, *args: str) -> list[dict[str, Any]]:
        done = self.tma("requests", "list", "--format", "json", *args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["requests"]

    def show(self, ref: str) -> dict[str, Any]:
        done = self.tma("requests", "show", ref, "--format", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with FeedServer() as server:
        yield Fleet(tmp_path, server)


def actions(summary: dict[str, Any]) -> dict[str, str]:
    return {r["fingerprint"]: r["action"] for r in summary["requests"]}
