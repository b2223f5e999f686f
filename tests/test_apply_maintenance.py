"""Maintenance mode per stack (issue 9): the commands each stack gives, read over the real sshd,
and the `maintenance` step through the engine with stand-in drush and bin/magento."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pluggy
import pytest
from tma_drupal.maintenance import maintenance_commands as drupal_maintenance
from tma_drupal.testing.trees import build_drupal7, build_drupal10
from tma_magento.testing.trees import build_magento
from tma_prestashop.maintenance import maintenance_commands as prestashop_maintenance
from tma_wordpress.maintenance import maintenance_commands as wordpress_maintenance
from tma_wordpress.testing.trees import build_wordpress

from tma_agent.hosts import SSHHost
from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.playbook_run import apply_playbook_text
from tma_agent.testing.sshd import SSHServer
from tma_agent.testing.standins import Call, give_tree_to, install_standin


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    return get_plugin_manager()


# -- maintenance: what each stack answers, read over the real sshd ---------------------------------


def test_drupal_uses_the_sites_own_drush(sshd: SSHServer, ssh_host: SSHHost) -> None:
    root = sshd.make_shared_dir()
    tree = build_drupal10(root, web_dir=True)
    install_standin(tree.project_root / "vendor/bin/drush", name="drush")
    on = drupal_maintenance(ssh_host, str(root), True)
    assert on == [
        ["vendor/bin/drush", "state:set", "system.maintenance_mode", "1", "--input-format=integer"],
        ["vendor/bin/drush", "cache:rebuild"],
    ]
    off = drupal_maintenance(ssh_host, str(root), False)
    assert off[0][3] == "0"


def test_drupal_7_without_its_own_drush_uses_drush_on_path(
    sshd: SSHServer, ssh_host: SSHHost
) -> None:
    root = sshd.make_shared_dir()
    build_drupal7(root)
    assert drupal_maintenance(ssh_host, str(root), True) == [
        ["drush", f"--root={root}", "variable-set", "--exact", "--yes", "maintenance_mode", "1"],
        ["drush", f"--root={root}", "cache-clear", "all"],
    ]


def test_wordpress_maintenance_file_is_written_then_removed(
    sshd: SSHServer, ssh_host: SSHHost
) -> None:
    root = sshd.make_shared_dir()
    docroot = build_wordpress(root / "public")
    give_tree_to(root, sshd.user)
    for argv in wordpress_maintenance(ssh_host, str(root), True):
        ssh_host.run(argv)
    flag = docroot / ".maintenance"
    assert flag.read_text() == "<?php $upgrading = time(); ?>\n"
    # Real PHP reads it as WordPress does: $upgrading is now, so maintenance holds.
    php = f"include {str(flag)!r}; echo time() - $upgrading < 5 ? 'on' : 'off';"
    assert subprocess.run(["php", "-r", php], capture_output=True, text=True).stdout == "on"
    for argv in wordpress_maintenance(ssh_host, str(root), False):
        ssh_host.run(argv)
    assert not flag.exists()
    assert sorted(p.name for p in docroot.iterdir() if p.name.startswith(".")) == []


def test_prestashop_switches_the_shop_off_and_on(sshd: SSHServer, ssh_host: SSHHost) -> None:
    root = sshd.make_shared_dir()
    _prestashop_tree(root, "8.1.7")
    assert prestashop_maintenance(ssh_host, str(root), True) == [
        ["bin/console", "prestashop:config", "set", "PS_SHOP_ENABLE", "--value", "0"]
    ]
    assert prestashop_maintenance(ssh_host, str(root), False)[0][-1] == "1"
    old = sshd.make_shared_dir()
    _prestashop_tree(old, "1.7.7.8")
    assert prestashop_maintenance(ssh_host, str(old), True) == []


def _prestashop_tree(root: Path, version: str) -> None:
    (root / "app").mkdir()
    (root / "config").mkdir()
    (root / "app/AppKernel.php").write_text(
        f"<?php\nclass AppKernel extends Kernel\n{{\n    const VERSION = '{version}';\n}}\n"
    )
    (root / "config/defines.inc.php").write_text("<?php\ndefine('_PS_MODE_DEV_', false);\n")


MAINTENANCE_PLAYBOOK = """\
name: quiet
steps:
  - maintenance: {enable: true}
  - shell: [touch, updated]
  - maintenance: {enable: false}
on_failure:
  - maintenance: {enable: false}
"""


def _ssh_config(sshd: SSHServer) -> dict[str, Any]:
    return {
        "host": f"ssh://{sshd.user}@{sshd.host}:{sshd.port}",
        "ssh": sshd.settings().model_dump(),
        # The pid files of commands go there, written by the ssh user.
        "backup_dir": sshd.make_shared_dir(writable=True),
    }


def test_drupal_maintenance_over_ssh_is_on_then_off(
    sshd: SSHServer, tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    root = sshd.make_shared_dir(writable=True)
    build_drupal10(root)
    drush = install_standin(root / "vendor/bin/drush", name="drush")
    give_tree_to(root, sshd.user)
    applied = apply_playbook_text(
        tmp_path, pm, MAINTENANCE_PLAYBOOK, site_path=root, stack="drupal", **_ssh_config(sshd)
    )
    assert applied.outcome.status == "succeeded", applied.outcome.error
    assert [Call(str(root), c.argv) for c in drush.calls()] == [
        Call(str(root), ("state:set", "system.maintenance_mode", "1", "--input-format=integer")),
        Call(str(root), ("cache:rebuild",)),
        Call(str(root), ("state:set", "system.maintenance_mode", "0", "--input-format=integer")),
        Call(str(root), ("cache:rebuild",)),
    ]
    assert {c.cwd for c in drush.calls()} == {str(root)}
    facts = [entry[3].get("maintenance") for entry in applied.journal.after]
    assert facts == [True, True, False]
    assert applied.step_data(0)["commands"][0][0] == "vendor/bin/drush"


def test_a_failing_enable_is_still_turned_off_by_on_failure(
    sshd: SSHServer, tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    root = sshd.make_shared_dir(writable=True)
    build_drupal10(root)
    drush = install_standin(root / "vendor/bin/drush", name="drush")
    give_tree_to(root, sshd.user)
    drush.fail(1, "Drupal bootstrap failed", only_with="1")
    applied = apply_playbook_text(
        tmp_path, pm, MAINTENANCE_PLAYBOOK, site_path=root, stack="drupal", **_ssh_config(sshd)
    )
    assert applied.outcome.status == "rolled_back"
    assert applied.outcome.error is not None
    assert applied.outcome.error.endswith(": Drupal bootstrap failed")
    # The mode was recorded on before its command ran: the rollback turned it off.
    assert [(phase, facts.get("maintenance")) for phase, _, _, facts in applied.journal.after] == [
        ("steps", True),
        ("on_failure", False),
    ]
    assert [c.argv[:4] for c in drush.calls()][-2:] == [
        ("state:set", "system.maintenance_mode", "0", "--input-format=integer"),
        ("cache:rebuild",),
    ]
    assert not (root / "updated").exists()


def test_magento_maintenance_runs_bin_magento_in_the_site(
    tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    tree = build_magento(tmp_path / "magento")
    magento = install_standin(tree.root / "bin/magento")
    applied = apply_playbook_text(
        tmp_path, pm, MAINTENANCE_PLAYBOOK, site_path=tree.root, stack="magento"
    )
    assert applied.outcome.status == "succeeded", applied.outcome.error
    assert magento.calls() == [
        Call(str(tree.root), ("maintenance:enable",)),
        Call(str(tree.root), ("maintenance:disable",)),
    ]


def test_wordpress_maintenance_file_exists_only_in_between(
    tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    docroot = build_wordpress(tmp_path / "wp" / "web")
    playbook = MAINTENANCE_PLAYBOOK.replace("[touch, updated]", "[test, -f, web/.maintenance]")
    applied = apply_playbook_text(
        tmp_path, pm, playbook, site_path=tmp_path / "wp", stack="wordpress"
    )
    assert applied.outcome.status == "succeeded", applied.outcome.error
    assert not (docroot / ".maintenance").exists()


def test_dry_run_prints_the_maintenance_commands_and_runs_none(
    tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    tree = build_magento(tmp_path / "magento")
    magento = install_standin(tree.root / "bin/magento")
    applied = apply_playbook_text(
        tmp_path, pm, MAINTENANCE_PLAYBOOK, site_path=tree.root, stack="magento", dry_run=True
    )
    assert applied.outcome.status == "planned"
    assert [c.command for c in applied.ctx.commands] == [
        "bin/magento maintenance:enable",
        "touch updated",
        "bin/magento maintenance:disable",
    ]
    assert magento.calls() == []


def test_a_stack_without_maintenance_mode_notes_it(
    tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    applied = apply_playbook_text(
        tmp_path, pm, MAINTENANCE_PLAYBOOK, site_path=tmp_path, stack="composer"
    )
    assert applied.outcome.status == "succeeded", applied.outcome.error
    assert applied.ctx.notes.count("no maintenance mode for stack composer") == 1
    assert applied.ctx.notes[-1] == (
        "maintenance mode was not turned on by this apply: left as it is"
    )
    assert [c.command for c in applied.ctx.commands] == ["touch updated"]
    assert [s.status for s in applied.outcome.steps] == ["ok", "changed", "ok"]


def test_prestashop_maintenance_disables_the_shop_through_its_console(
    tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    _prestashop_tree(shop, "8.2.0")
    console = install_standin(shop / "bin/console")
    applied = apply_playbook_text(
        tmp_path, pm, MAINTENANCE_PLAYBOOK, site_path=shop, stack="prestashop"
    )
    assert applied.outcome.status == "succeeded", applied.outcome.error
    assert [c.argv for c in console.calls()] == [
        ("prestashop:config", "set", "PS_SHOP_ENABLE", "--value", "0"),
        ("prestashop:config", "set", "PS_SHOP_ENABLE", "--value", "1"),
    ]
