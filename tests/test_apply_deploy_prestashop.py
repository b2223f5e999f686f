"""`tma deploy` of a PrestaShop shop runs the upgrade of each module whose version the deploy
changed: the core `deploy` playbook then the shipped `prestashop-deploy`, as `tma deploy`
combines them, on production over the real sshd, with real git (origin: the staging checkout),
a real MariaDB backed up and restored, and PrestaShop's bin/console as a stand-in recording its
argv (a module upgrade also writes the database, as the modules' upgrade scripts do)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_apply_deploy_stacks import deploy_tested
from tma_prestashop.deploy_upgrades import module_changes
from tma_prestashop.testing.trees import build_prestashop

from tma_agent.apply.engine import PlaybookOutcome
from tma_agent.apply.git import HostRunner, open_git
from tma_agent.hosts import LocalHost, SSHHost
from tma_agent.testing.apply_sites import commit_tree, git, hand_to
from tma_agent.testing.feeds import FeedServer, Reply
from tma_agent.testing.mariadb import CLIENT, MariaDBServer
from tma_agent.testing.sshd import SSHServer
from tma_agent.testing.stand_ins import calls, fail_on, write_stand_in

MODULES = {"ps_emailsubscription": "2.7.0", "ps_facetedsearch": "3.14.1", "ps_mainmenu": "2.3.4"}

#: bin/console: the recording stand-in, then, for a module upgrade that succeeded, what its
#: upgrade script would do to the database.
CONSOLE = """#!/usr/bin/env php
<?php
$args = array_slice($argv, 1);
passthru(implode(' ', array_map('escapeshellarg', [PHP_BINARY, __DIR__ . '/console-recorder', ...$args])), $rc);
if ($rc === 0 && array_slice($args, 0, 2) === ['prestashop:module', 'upgrade']) {{
    $sql = "UPDATE ps_module SET version = 'upgraded' WHERE name = '" . addslashes($args[2]) . "'";
    passthru(implode(' ', array_map('escapeshellarg', [{client}, '--no-defaults', '-h127.0.0.1',
        {port}, {user}, {password}, {database}, '-e', $sql])), $rc);
}}
exit($rc);
"""


def _php(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _bump(module: Path, old: str, new: str) -> None:
    for name in (f"{module.name}.php", "config.xml"):
        path = module / name
        path.write_text(
            path.read_text().replace(f"'{old}'", f"'{new}'").replace(f"[{old}]", f"[{new}]")
        )


@dataclass
class Shop:
    config: Path
    staging: Path
    production: Path
    log: Path
    database: str
    before: str
    tested: str

    def deploy(self, *, dry_run: bool = False) -> PlaybookOutcome:
        return deploy_tested(self.config, "shop", "prestashop", self.tested, dry_run=dry_run)

    def head(self) -> str:
        return git(self.production, "rev-parse", "HEAD").strip()


@pytest.fixture
def shop(sshd: SSHServer, mariadb: MariaDBServer, tmp_path: Path) -> Iterator[Shop]:
    base, logs = sshd.make_shared_dir(writable=True), sshd.make_shared_dir(writable=True)
    staging, production, log = base / "staging", base / "production", logs / "console.jsonl"
    build_prestashop(staging, modules=MODULES, custom_modules=())
    database = mariadb.create_database("shop")
    mariadb.sql(
        "CREATE TABLE ps_module (name VARCHAR(64) PRIMARY KEY, version VARCHAR(16));"
        "INSERT INTO ps_module VALUES ('ps_emailsubscription', '2.7.0'),"
        " ('ps_facetedsearch', '3.14.1'), ('ps_mainmenu', '2.3.4');",
        database=database,
    )
    write_stand_in(staging / "bin/console-recorder", log, name="bin/console", php=True)
    console = CONSOLE.format(
        client=_php(str(shutil.which(CLIENT))), port=_php(f"-P{mariadb.port}"),
        user=_php(f"-u{mariadb.user}"), password=_php(f"-p{mariadb.password}"),
        database=_php(database),
    )  # fmt: skip
    (staging / "bin/console").write_text(console)
    (staging / "bin/console").chmod(0o755)
    commit_tree(staging)
    subprocess.run(["git", "clone", "-q", str(staging), str(production)], check=True)
    before = git(production, "rev-parse", "HEAD").strip()
    # What staging tested: two modules at new versions, one with a file changed, same version.
    _bump(staging / "modules/ps_facetedsearch", "3.14.1", "3.16.1")
    _bump(staging / "modules/ps_emailsubscription", "2.7.0", "2.8.0")
    (staging / "modules/ps_mainmenu/views").mkdir()
    (staging / "modules/ps_mainmenu/views/menu.tpl").write_text("<nav>{$menu}</nav>\n")
    git(staging, "add", "-A")
    git(staging, "commit", "-q", "-m", "Upgrade modules")
    tested = git(staging, "rev-parse", "HEAD").strip()
    hand_to(sshd, base, logs)
    with FeedServer() as server:
        server.routes["/"] = Reply("<html><body>Boutique</body></html>")
        yield Shop(_config(tmp_path, sshd, mariadb, server, production, database), staging,
                   production, log, database, before, tested)  # fmt: skip


def _config(
    tmp_path: Path, sshd: SSHServer, mariadb: MariaDBServer, server: FeedServer,
    production: Path, database: str,
) -> Path:  # fmt: skip
    config: dict[str, Any] = {
        "state_dir": str(tmp_path / "state"),
        "apply": {"backup_dir": str(production.parent / "backups")},
        "http": {"timeout": 5, "retries": 1},
        "ssh": sshd.settings().model_dump(),
        "clients": [{"id": "acme", "name": "Acme"}],
        "sites": [{
            "id": "shop", "client": "acme", "stack": "prestashop",
            "environments": {"production": {
                "host": f"ssh://{sshd.user}@{sshd.host}:{sshd.port}", "path": str(production),
                "url": server.url, "branch": "main", "remote": "origin",
                "database": {
                    "driver": "mysql", "host": "127.0.0.1", "port": mariadb.port,
                    "name": database, "user": mariadb.user, "password": mariadb.password,
                },
            }},
        }],
    }  # fmt: skip
    path = tmp_path / "tma.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _versions(mariadb: MariaDBServer, database: str) -> dict[str, str]:
    rows = mariadb.sql("SELECT name, version FROM ps_module", database=database)
    return dict(line.split("\t") for line in rows.splitlines())


def test_deploy_upgrades_exactly_the_modules_whose_version_changed(
    shop: Shop, mariadb: MariaDBServer
) -> None:
    outcome = shop.deploy()
    assert outcome.status == "succeeded", outcome.error
    assert shop.head() == shop.tested
    production = str(shop.production)
    assert [(c["argv"], c["cwd"], c["rc"]) for c in calls(shop.log)] == [
        (["prestashop:config", "set", "PS_SHOP_ENABLE", "--value", "0"], production, 0),
        (["cache:clear", "--no-warmup"], production, 0),
        (["prestashop:module", "upgrade", "ps_emailsubscription"], production, 0),
        (["prestashop:module", "upgrade", "ps_facetedsearch"], production, 0),
        (["prestashop:config", "set", "PS_SHOP_ENABLE", "--value", "1"], production, 0),
    ]
    upgrades = next(s for s in outcome.steps if s.step == "prestashop.deployed_upgrades")
    assert upgrades.data["upgraded"] == ["ps_emailsubscription", "ps_facetedsearch"]
    assert upgrades.data["unchanged"] == ["ps_mainmenu"]  # files changed, version did not
    assert upgrades.data["versions"]["ps_facetedsearch"] == ["3.14.1", "3.16.1"]
    assert _versions(mariadb, shop.database) == {
        "ps_emailsubscription": "upgraded", "ps_facetedsearch": "upgraded", "ps_mainmenu": "2.3.4",
    }  # fmt: skip
    assert git(shop.production, "status", "--porcelain") == ""


def test_a_failing_module_upgrade_rolls_back_code_and_database(
    shop: Shop, mariadb: MariaDBServer
) -> None:
    before = mariadb.checksums(shop.database)
    fail_on(shop.log, "prestashop:module upgrade ps_facetedsearch")
    outcome = shop.deploy()
    assert outcome.status == "rolled_back", outcome.error
    assert "Upgrade each module whose version the deploy changed" in (outcome.error or "")
    ran = [c["argv"] for c in calls(shop.log)]
    # The first upgrade wrote the database; the second failed; maintenance off at the end.
    assert ran[2:] == [
        ["prestashop:module", "upgrade", "ps_emailsubscription"],
        ["prestashop:module", "upgrade", "ps_facetedsearch"],
        ["prestashop:config", "set", "PS_SHOP_ENABLE", "--value", "1"],
    ]
    undo = {s.step: s.status for s in outcome.steps if s.phase == "on_failure"}
    assert undo["db.restore"] == "changed" and undo["git.reset"] == "changed"
    assert mariadb.checksums(shop.database) == before
    assert _versions(mariadb, shop.database)["ps_emailsubscription"] == "2.7.0"
    assert shop.head() == shop.before
    main_file = shop.production / "modules/ps_facetedsearch/ps_facetedsearch.php"
    assert "'3.14.1'" in main_file.read_text()
    assert git(shop.production, "status", "--porcelain") == ""


def test_dry_run_prints_the_upgrades_and_runs_nothing(shop: Shop, sshd: SSHServer) -> None:
    # Fetched already (as a previous attempt leaves it), by the site's user over ssh.
    with SSHHost(sshd.host, port=sshd.port, user=sshd.user, settings=sshd.settings()) as host:
        open_git(host, str(shop.production), HostRunner(host)).fetch("origin")
    outcome = shop.deploy(dry_run=True)
    assert outcome.status == "planned", outcome.error
    shown = [c["command"] for s in outcome.steps for c in s.commands if not c["probe"]]
    assert "php bin/console prestashop:module upgrade ps_facetedsearch" in shown
    assert not any("upgrade ps_mainmenu" in c for c in shown)
    assert calls(shop.log) == [] and shop.head() == shop.before


def test_module_changes_reads_versions_from_the_trees_as_data(tmp_path: Path) -> None:
    site = build_prestashop(tmp_path / "shop", modules={"ps_mainmenu": "2.3.4"}, custom_modules=())
    commit_tree(site)
    old = git(site, "rev-parse", "HEAD").strip()
    hostile = site / "modules" / "$(touch pwned)"
    hostile.mkdir()
    (hostile / "$(touch pwned).php").write_text("<?php $this->version = '9.9.9';\n")
    dynamic = site / "modules/ps_mainmenu/ps_mainmenu.php"
    dynamic.write_text(
        dynamic.read_text().replace("$this->version = '2.3.4';", "$this->version = self::V;")
    )
    new_module = site / "modules/ps_new/ps_new.php"
    new_module.parent.mkdir()
    new_module.write_text("<?php $this->version = '1.0.0';\n")
    git(site, "add", "-A")
    git(site, "commit", "-q", "-m", "changes")
    new = git(site, "rev-parse", "HEAD").strip()
    runner = HostRunner(LocalHost())
    changes = module_changes(open_git(LocalHost(), str(site), runner), old, new, "modules")
    # The hostile folder is no module name: never listed. Without the literal, config.xml says.
    assert [(c.name, c.before, c.after) for c in changes] == [
        ("ps_mainmenu", "2.3.4", "2.3.4"),
        ("ps_new", None, "1.0.0"),
    ]
    assert not list(tmp_path.rglob("pwned"))
