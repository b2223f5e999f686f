"""The shipped deploy playbooks: the core `deploy` (the checkout moved to the tested commit)
followed by the stack's install steps, as `tma deploy` combines them, on a real Drupal project:
a real `composer install` from the tested lock (never an update), a real MariaDB backed up and
restored, Drush as a stand-in, a failing smoke check putting code, vendor/ and data back."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_apply_stacks import DRUPAL_FINDINGS, build_drupal_site

from tma_agent.apply.deploy import DEPLOY_PLAYBOOK, combine
from tma_agent.apply.engine import PlaybookOutcome, run_playbook
from tma_agent.apply.prepare import open_context, site_by_id
from tma_agent.apply.registry import playbook_by_name, registered_steps
from tma_agent.config import load_config
from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.apply_sites import apply_findings, composer, git, locked, write_config
from tma_agent.testing.feeds import FeedServer, Reply
from tma_agent.testing.mariadb import MariaDBServer
from tma_agent.testing.stand_ins import calls, write_stand_in

PM = get_plugin_manager()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


class Production:
    def __init__(self, tmp_path: Path, server: FeedServer, mariadb: MariaDBServer) -> None:
        home = tmp_path / "composer-home"
        self.staging = build_drupal_site(tmp_path / "staging", server, tmp_path)
        self.path = tmp_path / "production"
        subprocess.run(["git", "clone", "-q", str(self.staging), str(self.path)], check=True)
        composer(self.path, home, "install")  # production runs the old lock, vendor/ installed
        self.drush = tmp_path / "drush.jsonl"
        write_stand_in(self.path / "vendor/bin/drush", self.drush)
        # Staging: the update applied and committed (what `tma apply` tested).
        (tmp_path / "s").mkdir()
        staging_config = write_config(tmp_path / "s", self.staging, "drupal")
        done = apply_findings(staging_config, "drupal", DRUPAL_FINDINGS[:1], tmp_path / "pb")
        assert done.outcome.status == "succeeded", done.outcome.error
        self.tested = git(self.staging, "rev-parse", "HEAD").strip()
        self.before = git(self.path, "rev-parse", "HEAD").strip()
        self.database = mariadb.create_database("drupal")
        mariadb.sql(
            "CREATE TABLE node (nid INT PRIMARY KEY, title VARCHAR(99));"
            "INSERT INTO node VALUES (1, 'Accueil'), (2, 'Contact');",
            database=self.database,
        )
        self.mariadb = mariadb
        self.server = server
        server.routes["/"] = Reply("<html><body>Site</body></html>")
        branch = git(self.staging, "rev-parse", "--abbrev-ref", "HEAD").strip()
        config: dict[str, Any] = {
            "state_dir": str(tmp_path / "state"),
            "apply": {"backup_dir": str(tmp_path / "backups")},
            "http": {"timeout": 5, "retries": 1},
            "clients": [{"id": "acme", "name": "Acme"}],
            "sites": [
                {
                    "id": "site",
                    "client": "acme",
                    "stack": "drupal",
                    "environments": {
                        "production": {
                            "path": str(self.path),
                            "url": server.url,
                            "branch": branch,
                            "remote": "origin",
                            "database": {
                                "driver": "mysql", "host": "127.0.0.1", "port": mariadb.port,
                                "name": self.database, "user": mariadb.user,
                                "password": mariadb.password,
                            },
                        }
                    },
                }
            ],
        }  # fmt: skip
        self.config = tmp_path / "tma.yaml"
        self.config.write_text(yaml.safe_dump(config))

    def deploy(self) -> PlaybookOutcome:
        return deploy_tested(self.config, "site", "drupal", self.tested)


def deploy_tested(
    config_path: Path, site_id: str, stack: str, commit: str, *, dry_run: bool = False
) -> PlaybookOutcome:
    """What `tma deploy` runs: the core `deploy` playbook, then the stack's install playbook."""
    config = load_config(config_path)
    site = site_by_id(config, site_id)
    steps = registered_steps(PM)
    plan = PM.hook.tma_deploy_plan(site=site, stack=stack)
    assert plan is not None and plan.playbook == f"{stack}-deploy"
    settings = config.apply_for(site)
    playbook = combine(
        playbook_by_name(DEPLOY_PLAYBOOK, PM, settings, steps),
        playbook_by_name(plan.playbook, PM, settings, steps),
    )
    variables = {**plan.variables, "commit": commit}
    ctx = open_context(
        config, PM, site, "production", playbook, variables, dry_run=dry_run, stack=stack
    )
    try:
        return run_playbook(playbook, ctx, steps)
    finally:
        ctx.host.close()


@pytest.fixture
def production(
    tmp_path: Path, server: FeedServer, mariadb: MariaDBServer, monkeypatch: pytest.MonkeyPatch
) -> Production:
    monkeypatch.setenv("COMPOSER_HOME", str(tmp_path / "composer-home"))
    monkeypatch.setenv("COMPOSER_ALLOW_SUPERUSER", "1")
    return Production(tmp_path, server, mariadb)


def _core_version(project: Path) -> str:
    text = (project / "vendor/drupal/core/lib/Drupal.php").read_text()
    return text.split("VERSION = '")[1].split("'")[0]


def test_production_gets_exactly_what_staging_tested(production: Production) -> None:
    assert locked(production.path)["drupal/core"] == "10.2.3"
    outcome = production.deploy()
    assert outcome.status == "succeeded", outcome.error
    assert git(production.path, "rev-parse", "HEAD").strip() == production.tested
    assert locked(production.path) == locked(production.staging)
    assert _core_version(production.path) == "10.2.5"
    commands = [c["command"] for s in outcome.steps for c in s.commands if not c["probe"]]
    assert any(c.startswith("composer install --no-dev") for c in commands)
    assert not any(c.startswith("composer update") for c in commands)  # never on production
    assert [c["argv"] for c in calls(production.drush)] == [
        ["state:set", "system.maintenance_mode", "1", "--input-format=integer"],
        ["cache:rebuild"],
        ["updatedb", "-y"],
        ["cache:rebuild"],
        ["state:set", "system.maintenance_mode", "0", "--input-format=integer"],
        ["cache:rebuild"],
    ]
    assert git(production.path, "status", "--porcelain") == ""
    backups = list((production.path.parent / "backups" / "site").glob("*/database.sql.gz"))
    assert len(backups) == 1 and backups[0].stat().st_size > 0


def test_a_failed_check_puts_code_vendor_and_data_back(production: Production) -> None:
    before = production.mariadb.checksums(production.database)
    production.server.routes["/"] = Reply("<b>Fatal error</b>: Uncaught Error in x.php", status=500)
    outcome = production.deploy()
    assert outcome.status == "rolled_back", outcome.error
    assert "Smoke check the home page" in (outcome.error or "")
    assert git(production.path, "rev-parse", "HEAD").strip() == production.before
    assert locked(production.path)["drupal/core"] == "10.2.3"
    assert _core_version(production.path) == "10.2.3"  # vendor/ back with the code
    undo = {s.step: s.status for s in outcome.steps if s.phase == "on_failure"}
    assert undo["db.restore"] == "changed" and undo["git.reset"] == "changed"
    assert production.mariadb.checksums(production.database) == before
    assert git(production.path, "status", "--porcelain") == ""
    last = [c["argv"] for c in calls(production.drush)][-2:]
    assert last == [
        ["state:set", "system.maintenance_mode", "0", "--input-format=integer"],
        ["cache:rebuild"],
    ]
    assert os.path.exists(production.path / "vendor/bin/drush")
