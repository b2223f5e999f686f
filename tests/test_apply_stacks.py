"""The shipped stack playbooks run through the real engine: a real `composer update` of Drupal
core in a real git working copy over the real sshd, Magento and PrestaShop consoles and Drush
as stand-ins recording their argv, a real `npm install` against a local registry with install
scripts kept off, hostile finding names refused, and `tma playbook list` showing them all.

The git, backup and check steps the shipped playbooks also name belong to other parts of the
apply work and are tested there; here each playbook's own part runs (`stack_part`), followed by
a plain `git commit` so the working copy ends clean and the commit can be checked.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from tma_drupal.testing.trees import build_drupal10
from tma_npm.testing.tarballs import publish_package
from tma_prestashop.testing.trees import build_prestashop

from tma_agent.apply import ApplyPlan
from tma_agent.apply.engine import run_playbook
from tma_agent.apply.playbook import STEP_KEYS, load_playbook
from tma_agent.apply.prepare import open_context, site_by_id
from tma_agent.apply.registry import registered_steps
from tma_agent.config import Site, load_config
from tma_agent.ecosystems.apply_plans import PlanError, UnsafeFindingError
from tma_agent.errors import ConfigError
from tma_agent.models import Finding
from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.apply_sites import (
    OTHER_PARTS,
    SHIPPED,
    apply_findings,
    commit_tree,
    composer,
    git,
    hand_to,
    locked,
    stack_part,
    write_config,
)
from tma_agent.testing.cli import run_tma
from tma_agent.testing.composer_dists import dist_release, zip_of
from tma_agent.testing.composer_trees import serve_composer_repository
from tma_agent.testing.feeds import FeedServer, Reply
from tma_agent.testing.sshd import SSHServer
from tma_agent.testing.stand_ins import calls, fail_on, write_stand_in

PM = get_plugin_manager()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


# --- Drupal 8+: a real composer update ---------------------------------------------------------


def drupal_catalog(server: FeedServer, core: list[str], pathauto: list[str]) -> dict[str, Any]:
    def core_files(version: str) -> dict[str, str]:
        return {"lib/Drupal.php": f"<?php\nclass Drupal {{ const VERSION = '{version}'; }}\n"}

    return {
        "drupal/core": [
            dist_release(server, "drupal/core", v, type="drupal-core", files=core_files(v))
            for v in core
        ],
        "drupal/core-recommended": [
            dist_release(
                server,
                "drupal/core-recommended",
                v,
                type="metapackage",
                require={"drupal/core": v},
            )
            for v in core
        ],
        "drupal/pathauto": [
            dist_release(
                server,
                "drupal/pathauto",
                v,
                type="drupal-module",
                require={"drupal/core": "^10"},
                files={"pathauto.info.yml": "name: Pathauto\n"},
            )
            for v in pathauto
        ],
    }


def build_drupal_site(root: Path, server: FeedServer, tmp_path: Path) -> Path:
    """A Drupal 10.2.3 site as `composer create-project` leaves it (web/ docroot, composer.json
    and lock, vendor/ ignored by git), built with the real composer from the local repository;
    then 10.2.5 and pathauto 1.13.0 are published."""
    old = drupal_catalog(server, ["10.2.3"], ["1.12.0"])
    repo = serve_composer_repository(server, "/drupal", old)
    build_drupal10(root, core="10.2.3", composer=False, modules={})
    manifest = {
        "name": "acme/site",
        "type": "project",
        "require": {"drupal/core-recommended": "^10.2", "drupal/pathauto": "^1.12"},
        "repositories": [{"type": "composer", "url": repo}, {"packagist.org": False}],
        "config": {"secure-http": False, "allow-plugins": {}},
        "minimum-stability": "stable",
        "prefer-stable": True,
    }
    (root / "composer.json").write_text(json.dumps(manifest, indent=4) + "\n")
    composer(root, tmp_path / "composer-home", "update")
    assert locked(root)["drupal/core"] == "10.2.3"
    commit_tree(root, "/vendor/\n")
    serve_composer_repository(
        server, "/drupal", drupal_catalog(server, ["10.2.5", "10.2.3"], ["1.13.0", "1.12.0"])
    )
    return root


DRUPAL_FINDINGS = [
    Finding("drupal", "core", "10.2.3", "10.2.5", "10.2.5", "security"),
    Finding("pathauto", "module", "8.x-1.12", "8.x-1.13", "8.x-1.13", "bugfix"),
    Finding("token", "module", "8.x-1.13", "8.x-1.13", "8.x-1.13", "none"),
]


def test_drupal_core_update_over_ssh(sshd: SSHServer, server: FeedServer, tmp_path: Path) -> None:
    site = build_drupal_site(sshd.make_shared_dir(writable=True), server, tmp_path)
    logs = sshd.make_shared_dir(writable=True)
    # Drush as `composer require drush/drush` installs it: the project's vendor/bin/drush.
    write_stand_in(site / "vendor/bin/drush", logs / "drush.jsonl")
    backups = sshd.make_shared_dir(writable=True)
    hand_to(sshd, site, logs)
    config = write_config(tmp_path, site, "drupal", sshd=sshd, backups=backups)

    done = apply_findings(config, "drupal", DRUPAL_FINDINGS, tmp_path / "playbooks")

    assert done.outcome.status == "succeeded", done.outcome.error
    assert done.plan.variables["packages"] == ["drupal/core", "drupal/core-*", "drupal/pathauto"]
    assert locked(site) == {
        "drupal/core": "10.2.5",
        "drupal/core-recommended": "10.2.5",
        "drupal/pathauto": "1.13.0",
    }
    assert "10.2.5" in (site / "vendor/drupal/core/lib/Drupal.php").read_text()
    assert [(c["argv"], c["cwd"], c["rc"]) for c in calls(logs / "drush.jsonl")] == [
        (["updatedb", "-y"], str(site), 0),
        (["cache:rebuild"], str(site), 0),
    ]
    assert git(site, "log", "-1", "--format=%s") == "Apply drupal updates\n"
    assert git(site, "show", "--name-only", "--format=", "HEAD").split() == ["composer.lock"]
    assert git(site, "status", "--porcelain") == ""
    assert "Locked: drupal/core 10.2.5, drupal/pathauto 1.13.0" in done.ctx.notes
    assert (
        "composer update drupal/core 'drupal/core-*' drupal/pathauto --with-dependencies "
        "--no-interaction --no-progress"
    ) in done.commands()


def test_drupal_without_drush_warns_and_skips_the_database_updates(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = build_drupal_site(tmp_path / "site", server, tmp_path)
    monkeypatch.setenv("COMPOSER_HOME", str(tmp_path / "composer-home"))
    monkeypatch.setenv("COMPOSER_ALLOW_SUPERUSER", "1")
    config = write_config(tmp_path, site, "drupal")

    done = apply_findings(config, "drupal", DRUPAL_FINDINGS[:1], tmp_path / "playbooks")

    assert done.outcome.status == "succeeded", done.outcome.error
    status = {s.title: s.status for s in done.outcome.steps}
    assert status["Run the database updates"] == "skipped"
    assert status["Rebuild the cache"] == "skipped"
    assert any(n.startswith("Warning: no Drush on local") for n in done.ctx.notes)
    assert locked(site)["drupal/core"] == "10.2.5"


def test_drupal_drush_on_the_path_and_a_target_composer_cannot_reach(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = build_drupal_site(tmp_path / "site", server, tmp_path)
    bin_dir, log = tmp_path / "bin", tmp_path / "drush.jsonl"
    write_stand_in(bin_dir / "drush", log)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("COMPOSER_HOME", str(tmp_path / "composer-home"))
    monkeypatch.setenv("COMPOSER_ALLOW_SUPERUSER", "1")
    config = write_config(tmp_path, site, "drupal")
    # The feed recommends 10.2.6, which the Composer repository does not have yet.
    ahead = [Finding("drupal", "core", "10.2.3", "10.2.6", "10.2.6", "security")]

    done = apply_findings(config, "drupal", ahead, tmp_path / "playbooks")

    assert done.outcome.status == "rolled_back"  # (the undo steps are the other parts')
    assert "drupal/core 10.2.5 (wanted 10.2.6)" in (done.outcome.error or "")
    assert calls(log) == []  # Drush never ran on a lock short of its target
    assert git(site, "log", "-1", "--format=%s") == "Site as deployed\n"

    done = apply_findings(config, "drupal", DRUPAL_FINDINGS[:1], tmp_path / "playbooks2")
    assert done.outcome.status == "succeeded", done.outcome.error
    assert [c["argv"] for c in calls(log)] == [["updatedb", "-y"], ["cache:rebuild"]]
    assert {s.title: s.data for s in done.outcome.steps}[
        "Look for Drush (a warning when the host has none)"
    ] == {
        "found": True,
        "path": str(bin_dir / "drush"),
    }


# --- Composer projects (Symfony...) ------------------------------------------------------------


def test_composer_update_of_a_symfony_package_and_its_dry_run(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def catalog(*versions: str) -> dict[str, Any]:
        return {"symfony/console": [dist_release(server, "symfony/console", v) for v in versions]}

    repo = serve_composer_repository(server, "/repo", catalog("v6.4.3"))
    site = tmp_path / "site"
    site.mkdir()
    manifest = {
        "name": "acme/shop",
        "type": "project",
        "require": {"symfony/console": "^6.4"},
        "repositories": [{"type": "composer", "url": repo}, {"packagist.org": False}],
        "config": {"secure-http": False},
    }
    (site / "composer.json").write_text(json.dumps(manifest, indent=4) + "\n")
    composer(site, tmp_path / "composer-home", "update")
    commit_tree(site, "/vendor/\n")
    serve_composer_repository(server, "/repo", catalog("v6.4.8", "v6.4.3"))
    monkeypatch.setenv("COMPOSER_HOME", str(tmp_path / "composer-home"))
    monkeypatch.setenv("COMPOSER_ALLOW_SUPERUSER", "1")
    config = write_config(tmp_path, site, "composer")
    findings = [Finding("symfony/console", "package", "v6.4.3", "v6.4.8", "v6.4.8", "security")]

    planned = apply_findings(config, "composer", findings, tmp_path / "p1", dry_run=True)
    assert planned.outcome.status == "planned", planned.outcome.error
    assert (
        "composer update symfony/console --with-dependencies --no-interaction --no-progress"
        in planned.commands()
    )
    assert locked(site)["symfony/console"] == "v6.4.3"  # a dry run changes nothing

    done = apply_findings(config, "composer", findings, tmp_path / "p2")
    assert done.outcome.status == "succeeded", done.outcome.error
    assert locked(site)["symfony/console"] == "v6.4.8"
    assert git(site, "log", "-1", "--format=%s") == "Apply composer updates\n"
    assert git(site, "status", "--porcelain") == ""


# --- Magento: the exact console sequence ---------------------------------------------------------

META = "magento/product-community-edition"


def build_magento_site(root: Path, server: FeedServer, tmp_path: Path, log: Path) -> Path:
    def catalog(*versions: str) -> dict[str, Any]:
        framework = {"2.4.7": "103.0.7", "2.4.7-p1": "103.0.7-p1"}
        return {
            META: [
                dist_release(
                    server, META, v, type="metapackage",
                    require={"magento/framework": framework[v]},
                )
                for v in versions
            ],
            "magento/framework": [
                dist_release(server, "magento/framework", framework[v]) for v in versions
            ],
        }  # fmt: skip

    repo = serve_composer_repository(server, "/magento", catalog("2.4.7"))
    root.mkdir()
    manifest = {
        "name": "acme/store",
        "type": "project",
        "require": {META: "2.4.7"},
        "repositories": [{"type": "composer", "url": repo}, {"packagist.org": False}],
        "config": {"secure-http": False},
    }
    (root / "composer.json").write_text(json.dumps(manifest, indent=4) + "\n")
    composer(root, tmp_path / "composer-home", "update")
    # bin/magento is part of a Magento project's repository; this one records its argv.
    write_stand_in(root / "bin/magento", log, php=True)
    commit_tree(root, "/vendor/\n")
    serve_composer_repository(server, "/magento", catalog("2.4.7-p1", "2.4.7"))
    return root


MAGENTO_FINDINGS = [Finding(META, "core", "2.4.7", "2.4.7-p1", "2.4.7-p1", "security")]


@pytest.fixture
def composer_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPOSER_HOME", str(tmp_path / "composer-home"))
    monkeypatch.setenv("COMPOSER_ALLOW_SUPERUSER", "1")


@pytest.mark.usefixtures("composer_env")
def test_magento_upgrade_runs_the_console_in_order(server: FeedServer, tmp_path: Path) -> None:
    log = tmp_path / "magento.jsonl"
    site = build_magento_site(tmp_path / "site", server, tmp_path, log)
    config = write_config(tmp_path, site, "magento")

    done = apply_findings(config, "magento", MAGENTO_FINDINGS, tmp_path / "playbooks")

    assert done.outcome.status == "succeeded", done.outcome.error
    assert [(c["argv"], c["cwd"], c["rc"]) for c in calls(log)] == [
        (["setup:upgrade"], str(site), 0),
        (["setup:di:compile"], str(site), 0),
        (["cache:flush"], str(site), 0),
    ]
    assert [c.split(" ")[:3] for c in done.commands()] == [
        ["composer", "require", f"{META}:2.4.7-p1"],
        ["composer", "update", META],
        ["php", "bin/magento", "setup:upgrade"],
        ["php", "bin/magento", "setup:di:compile"],
        ["php", "bin/magento", "cache:flush"],
        ["git", "add", "-A"],
        ["git", "commit", "-q"],
    ]
    assert locked(site) == {META: "2.4.7-p1", "magento/framework": "103.0.7-p1"}
    assert json.loads((site / "composer.json").read_text())["require"][META] == "2.4.7-p1"
    assert git(site, "status", "--porcelain") == ""


@pytest.mark.usefixtures("composer_env")
def test_magento_stops_at_the_failing_console_command(server: FeedServer, tmp_path: Path) -> None:
    log = tmp_path / "magento.jsonl"
    site = build_magento_site(tmp_path / "site", server, tmp_path, log)
    fail_on(log, "setup:di:compile")
    config = write_config(tmp_path, site, "magento")

    done = apply_findings(config, "magento", MAGENTO_FINDINGS, tmp_path / "playbooks")

    assert not done.outcome.ok
    assert "`php` exited 1: magento: failing on demand" in (done.outcome.error or "")
    assert [(c["argv"], c["rc"]) for c in calls(log)] == [
        (["setup:upgrade"], 0),
        (["setup:di:compile"], 1),
    ]
    assert git(site, "log", "-1", "--format=%s") == "Site as deployed\n"


# --- PrestaShop: a module zip and the console ----------------------------------------------------

MODULE = "ps_facetedsearch"


def module_php(version: str) -> str:
    return (
        f"<?php\nclass Ps_Facetedsearch extends Module\n{{\n    public function __construct()\n"
        f"    {{\n        $this->name = '{MODULE}';\n        $this->version = '{version}';\n"
        "    }\n}\n"
    )


def build_prestashop_site(
    root: Path, server: FeedServer, tmp_path: Path, log: Path, zip_files: Mapping[str, str]
) -> tuple[Path, Path]:
    """A PrestaShop 8 shop in git with ps_facetedsearch 3.14.1 (and a file 3.16.1 dropped),
    bin/console recording its argv, and the agency's modules index naming the 3.16.1 zip."""
    build_prestashop(root, modules={MODULE: "3.14.1"}, custom_modules=())
    (root / f"modules/{MODULE}/{MODULE}.php").write_text(module_php("3.14.1"))
    (root / f"modules/{MODULE}/legacy.php").write_text("<?php // gone in 3.16\n")
    write_stand_in(root / "bin/console", log, php=True)
    commit_tree(root)
    server.routes["/zips/ps_facetedsearch-3.16.1.zip"] = Reply(zip_of(MODULE, zip_files))
    index = tmp_path / "modules-index.json"
    release = {"version": "3.16.1", "date": "2024-05-02", "url": server.url + "/zips/"}
    release["url"] += "ps_facetedsearch-3.16.1.zip"
    index.write_text(json.dumps({"modules": {MODULE: {"versions": [release]}}}))
    return root, index


#: The module's release zip, under its folder as PrestaShop packages modules.
NEW_MODULE = {
    f"{MODULE}.php": module_php("3.16.1"),
    "config.xml": "<module><name>ps_facetedsearch</name></module>\n",
    "src/Filters/Block.php": "<?php // new in 3.16\n",
}
PRESTASHOP_FINDINGS = [
    Finding("prestashop", "core", "8.1.7", "8.2.0", "8.2.0", "feature"),
    Finding(MODULE, "module", "3.14.1", "3.16.1", "3.16.1", "security"),
]


def test_prestashop_module_upgrade_over_ssh(
    sshd: SSHServer, server: FeedServer, tmp_path: Path
) -> None:
    logs, backups = sshd.make_shared_dir(writable=True), sshd.make_shared_dir(writable=True)
    log = logs / "console.jsonl"
    root = sshd.make_shared_dir(writable=True) / "shop"
    site, index = build_prestashop_site(root, server, tmp_path, log, NEW_MODULE)
    hand_to(sshd, site, logs)
    config = write_config(
        tmp_path, site, "prestashop", sshd=sshd, backups=backups,
        sources={"prestashop": {"modules": str(index)}},
    )  # fmt: skip

    done = apply_findings(config, "prestashop", PRESTASHOP_FINDINGS, tmp_path / "playbooks")

    assert done.outcome.status == "succeeded", done.outcome.error
    assert done.plan.variables["modules"] == [{"name": MODULE, "version": "3.16.1"}]
    module = site / "modules" / MODULE
    assert "'3.16.1'" in (module / f"{MODULE}.php").read_text()
    assert (module / "src/Filters/Block.php").exists()
    assert not (module / "legacy.php").exists()  # the release's files exactly
    assert [(c["argv"], c["cwd"], c["rc"]) for c in calls(log)] == [
        (["prestashop:module", "upgrade", MODULE], str(site), 0)
    ]
    previous = Path(done.ctx.backup_dir) / f"module-{MODULE}.previous"
    assert "'3.14.1'" in (previous / f"{MODULE}.php").read_text()
    assert git(site, "log", "-1", "--format=%s") == "Apply prestashop updates\n"
    assert git(site, "status", "--porcelain") == ""


def test_prestashop_failed_upgrade_puts_the_old_module_back(
    server: FeedServer, tmp_path: Path
) -> None:
    log = tmp_path / "console.jsonl"
    site, index = build_prestashop_site(tmp_path / "site", server, tmp_path, log, NEW_MODULE)
    fail_on(log, "prestashop:module")
    config = write_config(
        tmp_path, site, "prestashop", sources={"prestashop": {"modules": str(index)}}
    )

    done = apply_findings(config, "prestashop", PRESTASHOP_FINDINGS, tmp_path / "playbooks")

    assert done.outcome.status == "rolled_back", done.outcome.error
    module = site / "modules" / MODULE
    assert "'3.14.1'" in (module / f"{MODULE}.php").read_text()
    assert (module / "legacy.php").exists() and not (module / "src").exists()
    assert git(site, "status", "--porcelain") == ""


def test_prestashop_zip_leaving_the_module_folder_is_refused(
    server: FeedServer, tmp_path: Path
) -> None:
    log = tmp_path / "console.jsonl"
    hostile = {**NEW_MODULE, "../../evil.php": "<?php system($_GET['c']);\n"}
    site, index = build_prestashop_site(tmp_path / "site", server, tmp_path, log, hostile)
    config = write_config(
        tmp_path, site, "prestashop", sources={"prestashop": {"modules": str(index)}}
    )

    done = apply_findings(config, "prestashop", PRESTASHOP_FINDINGS, tmp_path / "playbooks")

    assert not done.outcome.ok
    assert "has a member outside ps_facetedsearch/" in (done.outcome.error or "")
    assert not list(tmp_path.rglob("evil.php"))
    assert "'3.14.1'" in (site / f"modules/{MODULE}/{MODULE}.php").read_text()
    assert calls(log) == []


def test_prestashop_release_without_a_zip_url_is_refused_before_anything_runs(
    server: FeedServer, tmp_path: Path
) -> None:
    log = tmp_path / "console.jsonl"
    site, index = build_prestashop_site(tmp_path / "site", server, tmp_path, log, NEW_MODULE)
    index.write_text(json.dumps({"modules": {MODULE: {"versions": [{"version": "3.16.1"}]}}}))
    config = write_config(
        tmp_path, site, "prestashop", sources={"prestashop": {"modules": str(index)}}
    )

    done = apply_findings(config, "prestashop", PRESTASHOP_FINDINGS, tmp_path / "playbooks")

    assert done.outcome.status == "refused"
    assert done.outcome.error == f"{index}: module {MODULE} 3.16.1 has no zip `url`"
    assert [s.status for s in done.outcome.steps] == ["refused"]


# --- npm: install scripts stay off unless the site opts in ---------------------------------------

WIDGET = "tma-demo-widget"


def build_npm_project(root: Path, server: FeedServer, marker: Path) -> Path:
    """A front end installed from the local registry at 1.0.0 (scripts off), then 1.0.1
    published with a postinstall script that would leave `marker`."""
    script = {"postinstall": f"node -e \"require('fs').writeFileSync({str(marker)!r}, 'ran')\""}
    publish_package(server, WIDGET, {"1.0.0": script})
    root.mkdir()
    manifest = {"name": "front", "version": "1.0.0", "private": True}
    (root / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (root / ".npmrc").write_text(
        f"registry={server.url}/\naudit=false\nfund=false\nupdate-notifier=false\n"
    )
    done = subprocess.run(
        ["npm", "install", f"{WIDGET}@1.0.0", "--ignore-scripts"],
        cwd=root, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    commit_tree(root, "/node_modules/\n")
    publish_package(server, WIDGET, {"1.0.0": script, "1.0.1": script})
    return root


@pytest.mark.parametrize("scripts", [False, True], ids=["default", "npm_scripts"])
def test_npm_install_keeps_install_scripts_off_unless_the_site_opts_in(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scripts: bool
) -> None:
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    marker = tmp_path / "postinstall-ran"
    site = build_npm_project(tmp_path / "site", server, marker)
    options = {"npm_scripts": True} if scripts else {}
    config = write_config(tmp_path, site, "npm", options=options)
    findings = [Finding(WIDGET, "package", "1.0.0", "1.0.1", "1.0.1", "security")]

    done = apply_findings(config, "npm", findings, tmp_path / "playbooks")

    assert done.outcome.status == "succeeded", done.outcome.error
    install = f"npm install {WIDGET}@1.0.1 --ignore-scripts --no-audit --no-fund"
    assert (install in done.commands()) is not scripts
    assert marker.exists() is scripts  # the postinstall ran only for the site that opted in
    installed = json.loads((site / f"node_modules/{WIDGET}/package.json").read_text())
    assert installed["version"] == "1.0.1"
    lock = json.loads((site / "package-lock.json").read_text())
    assert lock["packages"][f"node_modules/{WIDGET}"]["version"] == "1.0.1"
    assert git(site, "log", "-1", "--format=%s") == "Apply npm updates\n"
    assert git(site, "status", "--porcelain") == ""


# --- Plans: what each stack chooses, and hostile names refused -----------------------------------

PWNED = "$(touch /tmp/pwned)"


def site_of(stack: str, options: Mapping[str, Any] | None = None) -> Site:
    return Site.model_validate(
        {
            "id": "shop",
            "client": "acme",
            "stack": stack,
            "options": dict(options or {}),
            "environments": {"staging": {"host": "local", "path": "/srv/shop"}},
        }
    )


def plan(stack: str, findings: list[Finding], **options: Any) -> ApplyPlan | None:
    result = PM.hook.tma_apply_plan(site=site_of(stack, options), stack=stack, findings=findings)
    assert result is None or isinstance(result, ApplyPlan)
    return result


@pytest.mark.parametrize(
    ("stack", "finding", "what"),
    [
        ("drupal", Finding(PWNED, "module", "1.0.0", "1.1.0", "1.1.0", "security"), "Composer package name"),
        ("drupal", Finding("token", "module", "8.x-1.1", "8.x-1.2", "1.2.0;id", "security"), "Composer version"),
        ("composer", Finding(PWNED, "package", "1.0.0", "1.1.0", "1.1.0", "security"), "Composer package name"),
        ("composer", Finding("psr/log", "package", "1.0.0", "1", "--prefer-source", "security"), "Composer version"),
        ("magento", Finding(PWNED, "core", "2.4.7", "2.4.8", "2.4.8", "security"), "Composer package name"),
        ("prestashop", Finding(PWNED, "module", "1.0.0", "1.1.0", "1.1.0", "security"), "PrestaShop module name"),
        ("prestashop", Finding("ps_x", "module", "1.0.0", "1", "1.1.0 `id`", "security"), "PrestaShop module version"),
        ("npm", Finding(PWNED, "package", "1.0.0", "1.1.0", "1.1.0", "security"), "npm package name"),
        ("npm", Finding("--global", "package", "1.0.0", "1.1.0", "1.1.0", "security"), "npm package name"),
        ("npm", Finding("react", "package", "1.0.0", "1", "1.1.0 || x", "security"), "npm version"),
        ("npm", Finding("react\n", "package", "1.0.0", "1", "1.1.0", "security"), "npm package name"),
        ("composer", Finding("psr/log", "package", "1.0.0", "1", "1.1.0\n", "security"), "Composer version"),
    ],
)  # fmt: skip
def test_hostile_names_and_versions_are_refused(stack: str, finding: Finding, what: str) -> None:
    with pytest.raises(UnsafeFindingError) as refused:
        plan(stack, [finding])
    message = str(refused.value)
    assert message.startswith("site shop: refused to apply: ")
    assert f"is not a {what}" in message and "\n" not in message
    assert not Path("/tmp/pwned").exists()  # noqa: S108 - the name the hostile finding uses


def test_plans_choose_playbooks_and_variables() -> None:
    drupal = plan(
        "drupal",
        [
            Finding("drupal", "core", "10.2.3", "10.2.5", "10.2.5", "security"),
            Finding("pathauto", "module", "8.x-1.12", "2.0.1", "2.0.1", "feature"),
            Finding("token", "module", "8.x-1.12", "8.x-1.13", "8.x-1.13", "bugfix"),
            Finding("custom", "module", "1.0.0", None, None, "unknown"),
        ],
    )
    assert drupal == ApplyPlan(
        "drupal-composer",
        {
            "packages": ["drupal/core", "drupal/core-*", "drupal/pathauto", "drupal/token"],
            # 1.12.0 -> 2.0.1 is outside ^1.12: composer.json's constraint moves first.
            "require": ["drupal/pathauto:^2.0.1"],
            "expect": {"drupal/core": "10.2.5", "drupal/pathauto": "2.0.1", "drupal/token": "1.13.0"},
        },
    )  # fmt: skip
    # Drupal 7 is not Composer-managed: its core is replaced from the release archive.
    seven = plan("drupal", [Finding("drupal", "core", "7.98", "7.101", "7.101", "security")])
    assert seven == ApplyPlan("drupal7-core", {"version": "7.101"})
    npm = plan("npm", [Finding("@scope/ui", "package", "1.0.0", "1.2.0", "1.2.0", "bugfix")])
    assert npm is not None and npm.variables["packages"] == ["@scope/ui@1.2.0"]
    assert npm.variables["scripts"] is False
    opted = plan(
        "npm", [Finding("vue", "package", "3.4.0", "3.4.1", "3.4.1", "bugfix")],
        npm_scripts=True, npm_dir="front",
    )  # fmt: skip
    assert opted is not None and (opted.variables["scripts"], opted.variables["npm_dir"]) == (
        True,
        "front",
    )


def test_plans_refuse_nothing_to_apply_and_the_prestashop_core() -> None:
    held = Finding("symfony/console", "package", "v6.4.3", "v6.4.8", "v6.4.8", "bugfix")
    held.policy, held.policy_reason = "too_recent", "released 2 days ago"
    with pytest.raises(PlanError, match=r"^site shop: nothing to apply"):
        plan("composer", [held])
    with pytest.raises(PlanError, match="1-click upgrade module"):
        plan("prestashop", [Finding("prestashop", "core", "8.1.7", "8.2.0", "8.2.0", "security")])
    with pytest.raises(
        ConfigError, match=r"^site shop: options.npm_scripts: must be true or false"
    ):
        plan(
            "npm",
            [Finding("vue", "package", "3.4.0", "3.4.1", "3.4.1", "bugfix")],
            npm_scripts="yes",
        )


# --- tma playbook list ---------------------------------------------------------------------------

SHIPPED_PLAYBOOKS = {
    "drupal-composer": ["drupal"],
    "composer-update": ["composer"],
    "magento": ["magento"],
    "prestashop-module": ["prestashop"],
    "npm-update": ["npm"],
}


def test_playbook_list_shows_each_shipped_playbook_and_where_it_comes_from(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, tmp_path / "site", "drupal")
    done = run_tma("playbook", "list", "--format", "json", config=config)
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)["playbooks"]}
    for name in SHIPPED_PLAYBOOKS:
        assert rows[name]["origin"] == "tma-agent"
        assert rows[name]["path"] == str(SHIPPED / f"{name}.yaml")
    table = run_tma("playbook", "list", "--format", "table", config=config).stdout
    for name in SHIPPED_PLAYBOOKS:
        assert f"{SHIPPED / name}.yaml" in table


@pytest.mark.parametrize("name", sorted(SHIPPED_PLAYBOOKS))
def test_shipped_playbooks_name_only_known_steps(name: str, tmp_path: Path) -> None:
    data = yaml.safe_load((SHIPPED / f"{name}.yaml").read_text())
    assert data["stacks"] == SHIPPED_PLAYBOOKS[name]
    named = {k for s in data["steps"] + data.get("on_failure", []) for k in s if k not in STEP_KEYS}
    assert named <= set(registered_steps(PM)) | OTHER_PARTS
    # The stack's own part loads as is (variables declared, templates parse, arguments fit).
    assert load_playbook(stack_part(name, tmp_path), registered_steps(PM))


@pytest.mark.parametrize(
    ("value", "runs"),
    [(False, False), ("false", False), ("no", False), (True, True), ("true", True)],
)
def test_npm_scripts_run_only_for_a_real_yes(tmp_path: Path, value: Any, runs: bool) -> None:
    """`--var scripts=no` arrives as the string "no": it must not turn install scripts on."""
    site = tmp_path / "site"
    site.mkdir()
    config = load_config(write_config(tmp_path, site, "npm"))
    steps = registered_steps(PM)
    playbook = load_playbook(stack_part("npm-update", tmp_path / "playbooks"), steps)
    variables = {"packages": ["left-pad@1.3.0"], "scripts": value}
    ctx = open_context(
        config, PM, site_by_id(config, "site"), "staging", playbook, variables, dry_run=True
    )
    outcome = run_playbook(playbook, ctx, steps)
    status = {s.title: s.status for s in outcome.steps}
    with_scripts = "Install the target versions (install scripts run, the site opted in)"
    without = "Install the target versions (install scripts not run)"
    assert (status[with_scripts], status[without]) == (
        ("planned", "skipped") if runs else ("skipped", "planned")
    )


def test_npm_update_shipped_playbook_as_is_through_tma_playbook_run(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole npm-update playbook (its git and check steps are all on main): fetch, a tma
    branch, the install, the smoke check, the commit and the push to a bare origin."""
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    marker = tmp_path / "postinstall-ran"
    site = build_npm_project(tmp_path / "site", server, marker)
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    git(site, "remote", "add", "origin", str(origin))
    git(site, "push", "-q", "origin", "main")
    server.routes["/"] = Reply(
        "<html><body>Front</body></html>", headers={"Content-Type": "text/html"}
    )
    config = write_config(tmp_path, site, "npm")
    data = yaml.safe_load(config.read_text())
    data["sites"][0]["environments"]["staging"]["url"] = server.url
    config.write_text(yaml.safe_dump(data))

    done = run_tma(
        "playbook", "run", "npm-update", "--site", "site", "--var", f"packages=[{WIDGET}@1.0.1]",
        "--format", "json", config=config,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "succeeded"
    assert [s["step"] for s in outcome["steps"] if s["status"] != "skipped"] == [
        "git.fetch", "git.branch", "shell", "http.check", "git.commit", "git.push",
    ]  # fmt: skip
    assert not marker.exists()
    branch = git(site, "rev-parse", "--abbrev-ref", "HEAD").strip()
    assert branch.startswith("tma/")
    pushed = git(origin, "rev-parse", f"refs/heads/{branch}").strip()
    assert pushed == git(site, "rev-parse", "HEAD").strip()
    lock = json.loads(git(site, "show", "HEAD:package-lock.json"))
    assert lock["packages"][f"node_modules/{WIDGET}"]["version"] == "1.0.1"
    assert git(site, "status", "--porcelain") == ""
