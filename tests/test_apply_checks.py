"""Smoke checks, visual checks and maintenance mode (issue 9): against a real local HTTP server,
a real headless Chromium, and stand-in stack tools over the real sshd."""

from __future__ import annotations

import copy
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy
import pytest
import yaml
from PIL import Image
from tma_drupal.maintenance import maintenance_commands as drupal_maintenance
from tma_drupal.testing.trees import build_drupal7, build_drupal10
from tma_magento.testing.trees import build_magento
from tma_prestashop.maintenance import maintenance_commands as prestashop_maintenance
from tma_wordpress.maintenance import maintenance_commands as wordpress_maintenance
from tma_wordpress.testing.trees import build_wordpress

from tma_agent.apply import StepContext
from tma_agent.apply.engine import PlaybookOutcome, StepOutcome, run_playbook
from tma_agent.apply.playbook import Playbook, load_playbook
from tma_agent.apply.prepare import open_context
from tma_agent.apply.registry import registered_steps
from tma_agent.apply.smoke import check_page, smoke_client
from tma_agent.apply.visual import Rect, compare_images, screenshot
from tma_agent.config import load_config
from tma_agent.hosts import SSHHost
from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.pages import DRIP_PATH, ENDLESS_PATH, Page, PageServer
from tma_agent.testing.sshd import SSHServer
from tma_agent.testing.standins import Call, give_tree_to, install_standin


def _php_output(code: str) -> str:
    """What PHP itself prints for an error, as a web page would show it (display_errors on)."""
    return subprocess.run(
        ["php", "-d", "display_errors=1", "-d", "html_errors=1", "-d", "log_errors=0", "-r", code],
        capture_output=True,
        text=True,
        check=False,
    ).stdout


WP_CRITICAL = """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="utf-8"><title>WordPress &rsaquo; Error</title></head>
<body id="error-page"><div class="wp-die-message"><p>There has been a critical error on this
website.</p><p><a href="https://wordpress.org/documentation/article/faq-troubleshooting/">Learn
more about troubleshooting WordPress.</a></p></div></body></html>"""


@pytest.fixture(scope="module")
def site() -> Iterator[PageServer]:
    pages = {
        "/": Page("<html><body><h1>Welcome to Example</h1></body></html>"),
        "/broken": Page("<h1>Internal Server Error</h1>", 500),
        "/fatal": Page("<html><body><p>Header</p>" + _php_output("undefined_fn();"), 200),
        "/critical": Page(WP_CRITICAL, 500),
        "/quoted": Page("<p>Our post explains what Fatal error: means in PHP.</p>"),
    }
    with PageServer(pages, drip_interval=0.2) as server:
        yield server


# -- http.check, the function ---------------------------------------------------------------------


def test_an_ok_page_passes_with_its_status_and_time(site: PageServer) -> None:
    with smoke_client() as client:
        result = check_page(client, site.page_url("/"), timeout=5, expect_text="Welcome")
    assert result.ok, result.problem
    assert result.status == 200
    assert 0 <= result.elapsed_ms < 5000


def test_a_missing_expected_text_fails_naming_the_url(site: PageServer) -> None:
    with smoke_client() as client:
        result = check_page(client, site.page_url("/"), timeout=5, expect_text="Goodbye")
    assert result.problem == f"{site.url}/: the page lacks the expected text 'Goodbye'"


def test_a_500_fails_with_its_status(site: PageServer) -> None:
    with smoke_client() as client:
        result = check_page(client, site.page_url("/broken"), timeout=5)
    assert result.problem == f"{site.url}/broken: HTTP 500, expected 200"
    with smoke_client() as client:
        assert check_page(client, site.page_url("/broken"), timeout=5, expect_status=500).ok


def test_a_php_fatal_error_fails_even_when_answered_200(site: PageServer) -> None:
    with smoke_client() as client:
        result = check_page(client, site.page_url("/fatal"), timeout=5)
    assert result.status == 200
    assert result.problem == f"{site.url}/fatal: the page shows a PHP fatal error (HTTP 200)"


def test_a_php_parse_error_in_text_mode_fails(site: PageServer, tmp_path: Path) -> None:
    script = tmp_path / "broken.php"
    script.write_text('<?php echo "a"\necho 1;\n')
    printed = subprocess.run(
        ["php", "-d", "display_errors=1", "-d", "html_errors=0", "-d", "log_errors=0", script],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "Parse error:" in printed  # what PHP itself printed, not our guess of it
    site.set("/parse", Page("<p>before</p>" + printed))
    with smoke_client() as client:
        result = check_page(client, site.page_url("/parse"), timeout=5)
    assert result.problem is not None and "PHP parse error" in result.problem


def test_the_wordpress_critical_error_page_fails(site: PageServer) -> None:
    with smoke_client() as client:
        result = check_page(client, site.page_url("/critical"), timeout=5, expect_status=500)
    assert result.problem is not None
    assert result.problem.startswith(f"{site.url}/critical: the page is WordPress'")


def test_an_article_quoting_fatal_error_passes(site: PageServer) -> None:
    with smoke_client() as client:
        assert check_page(client, site.page_url("/quoted"), timeout=5).ok


def test_a_dripping_body_is_cut_at_the_deadline(site: PageServer) -> None:
    started = time.monotonic()
    with smoke_client() as client:
        result = check_page(client, site.page_url(DRIP_PATH), timeout=1.0)
    took = time.monotonic() - started
    # The server would take a minute; each read alone is short, the deadline holds the whole.
    assert took < 2.5
    assert result.problem == f"{site.url}{DRIP_PATH}: no complete answer within 1 s"


def test_an_endless_body_is_read_up_to_the_bound(site: PageServer) -> None:
    with smoke_client() as client:
        result = check_page(client, site.page_url(ENDLESS_PATH), timeout=10, max_bytes=1024 * 1024)
    assert result.problem == (
        f"{site.url}{ENDLESS_PATH}: body larger than 1024 KiB (read stopped there)"
    )


def test_a_closed_port_fails_in_one_line(tmp_path: Path) -> None:
    with PageServer() as server:
        url = server.page_url("/")
    with smoke_client() as client:
        result = check_page(client, url, timeout=2)
    assert result.problem is not None
    assert result.problem.startswith(f"{url}: request failed: ")
    assert "\n" not in result.problem


# -- visual.check, the functions ------------------------------------------------------------------

BOX_PAGE = """<html><body style="margin:0;background:#fff;font-family:sans-serif">
<div style="position:absolute;left:{x}px;top:20px;width:{w}px;height:40px;background:{color}"></div>
<p style="position:absolute;left:20px;top:100px">Stable text</p></body></html>"""


def _box(x: int = 20, w: int = 100, color: str = "#c00") -> Page:
    return Page(BOX_PAGE.format(x=x, w=w, color=color))


def test_same_page_twice_is_the_same_picture(site: PageServer, tmp_path: Path) -> None:
    site.set("/same", _box())
    first = screenshot(site.page_url("/same"), tmp_path / "a.png", width=400, height=300)
    second = screenshot(site.page_url("/same"), tmp_path / "b.png", width=400, height=300)
    with Image.open(first) as image:
        assert image.size == (400, 300)
    result = compare_images(first, second)
    assert result.changed == 0
    assert result.compared == 400 * 300


def test_a_big_change_and_a_small_one_and_a_masked_one(site: PageServer, tmp_path: Path) -> None:
    site.set("/box", _box())
    before = screenshot(site.page_url("/box"), tmp_path / "before.png", width=400, height=300)
    # A 100x40 box moved 200 px: 8000 pixels of 120000 change (~6.7%).
    site.set("/box", _box(x=220))
    moved = screenshot(site.page_url("/box"), tmp_path / "moved.png", width=400, height=300)
    big = compare_images(before, moved)
    assert 0.05 < big.ratio < 0.08
    assert big.diff.getpixel((250, 40)) == (255, 0, 0)
    # The same box, a shade lighter (within the tolerance), 4 px wider: 160 px (~0.13%).
    site.set("/box", _box(w=104, color="#c80808"))
    small = compare_images(
        before, screenshot(site.page_url("/box"), tmp_path / "small.png", width=400, height=300)
    )
    assert 0 < small.ratio < 0.01
    # Only the masked region changes.
    masked = compare_images(before, moved, masks=[Rect(0, 0, 400, 80)])
    assert masked.changed == 0
    assert masked.compared == 400 * 300 - 400 * 80


def test_images_of_different_sizes_count_the_rest_as_changed(tmp_path: Path) -> None:
    Image.new("RGB", (100, 100), "white").save(tmp_path / "a.png")
    Image.new("RGB", (100, 150), "white").save(tmp_path / "b.png")
    result = compare_images(tmp_path / "a.png", tmp_path / "b.png")
    assert result.changed == 100 * 50
    assert result.compared == 100 * 150


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


# -- the steps, through the engine ------------------------------------------------------------------


class FactsJournal:
    """Keeps the facts after every step, as the ledger's journal persists them."""

    def __init__(self) -> None:
        self.after: list[tuple[str, str, str, dict[str, Any]]] = []

    def started(self, ctx: StepContext, playbook: Playbook) -> None:
        return None

    def step_done(self, ctx: StepContext, outcome: StepOutcome) -> None:
        self.after.append((outcome.phase, outcome.step, outcome.status, copy.deepcopy(ctx.facts)))

    def finished(self, ctx: StepContext, outcome: PlaybookOutcome) -> None:
        return None


@dataclass
class Applied:
    outcome: PlaybookOutcome
    ctx: StepContext
    journal: FactsJournal

    def step_data(self, index: int) -> dict[str, Any]:
        return self.outcome.steps[index].data


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    return get_plugin_manager()


def _apply(
    tmp_path: Path,
    pm: pluggy.PluginManager,
    playbook: str,
    *,
    site_path: Path,
    url: str | None = None,
    stack: str | None = None,
    host: str = "local",
    ssh: dict[str, Any] | None = None,
    dry_run: bool = False,
    backup_dir: Path | None = None,
) -> Applied:
    environment: dict[str, Any] = {"host": host, "path": str(site_path)}
    if url:
        environment["url"] = url
    config: dict[str, Any] = {
        "state_dir": str(tmp_path / "state"),
        "http": {"timeout": 5},
        "apply": {"backup_dir": str(backup_dir or tmp_path / "backups")},
        "clients": [{"id": "acme", "name": "Acme"}],
        "sites": [{"id": "shop", "client": "acme", "environments": {"staging": environment}}],
    }
    if stack:
        config["sites"][0]["stack"] = stack
    if ssh:
        config["ssh"] = ssh
    (tmp_path / "tma.yaml").write_text(yaml.safe_dump(config))
    loaded = load_config(tmp_path / "tma.yaml")
    steps = registered_steps(pm)
    (tmp_path / "playbook.yaml").write_text(playbook)
    book = load_playbook(tmp_path / "playbook.yaml", steps)
    ctx = open_context(loaded, pm, loaded.sites[0], "staging", book, {}, dry_run=dry_run)
    journal = FactsJournal()
    try:
        outcome = run_playbook(book, ctx, steps, journal=journal)
    finally:
        ctx.host.close()
    return Applied(outcome, ctx, journal)


HTTP_PLAYBOOK = """\
name: smoke
steps:
  - http.check: {paths: [/, /broken], expect_status: %(status)d}
on_failure:
  - shell: [touch, rolled-back]
"""


def test_http_check_step_passes_and_registers_each_url(
    site: PageServer, tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    applied = _apply(
        tmp_path,
        pm,
        "name: smoke\nsteps:\n  - http.check: {path: /, expect_text: Welcome}\n",
        site_path=tmp_path,
        url=site.url + "/",
    )
    assert applied.outcome.status == "succeeded", applied.outcome.error
    [check] = applied.step_data(0)["checks"]
    assert check["url"] == f"{site.url}/"
    assert check["status"] == 200
    assert isinstance(check["elapsed_ms"], int)


def test_http_check_step_failure_rolls_back_naming_the_url(
    site: PageServer, tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    applied = _apply(
        tmp_path, pm, HTTP_PLAYBOOK % {"status": 200}, site_path=tmp_path, url=site.url
    )
    assert applied.outcome.status == "rolled_back"
    assert applied.outcome.error == (
        f"step 1 (http.check): {site.url}/broken: HTTP 500, expected 200"
    )
    assert (tmp_path / "rolled-back").exists()


def test_http_check_dry_run_requests_nothing(
    site: PageServer, tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    before = len(site.requested)
    applied = _apply(
        tmp_path, pm, HTTP_PLAYBOOK % {"status": 200}, site_path=tmp_path, url=site.url,
        dry_run=True,
    )  # fmt: skip
    assert applied.outcome.status == "planned"
    assert len(site.requested) == before
    assert f"would check {site.url}/broken (HTTP 200)" in applied.ctx.notes


def test_http_check_without_url_fails_in_one_line(tmp_path: Path, pm: pluggy.PluginManager) -> None:
    applied = _apply(tmp_path, pm, HTTP_PLAYBOOK % {"status": 200}, site_path=tmp_path)
    assert applied.outcome.error == (
        "step 1 (http.check): site shop: environments.staging.url is not set "
        "(the checks need the address of the site)"
    )


VISUAL_PLAYBOOK = """\
name: look
steps:
  - visual.check: {phase: before, path: /look, width: 400, height: 300%(masks)s}
  - shell: [cp, next.html, page.html]
  - visual.check: {phase: after, path: /look, width: 400, height: 300%(masks)s}
"""


def _visual(
    site: PageServer, tmp_path: Path, pm: pluggy.PluginManager, after: Page, masks: str = ""
) -> Applied:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "page.html").write_text(_box().body)
    (tree / "next.html").write_text(after.body)
    site.set("/look", Page(file=tree / "page.html"))
    return _apply(tmp_path, pm, VISUAL_PLAYBOOK % {"masks": masks}, site_path=tree, url=site.url)


def test_visual_check_above_the_threshold_fails_with_three_images(
    site: PageServer, tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    applied = _visual(site, tmp_path, pm, _box(x=220))
    assert applied.outcome.status == "rolled_back"
    url = f"{site.url}/look"
    assert applied.outcome.error is not None
    assert applied.outcome.error.startswith(f"step 3 (visual.check): {url}: 6.")
    assert applied.outcome.error.endswith("of the page changed, above the 1.00% threshold")
    labels = [a.label for a in applied.ctx.attachments]
    assert labels == [f"before: {url}", f"after: {url}", f"changes: {url}"]
    for attachment in applied.ctx.attachments:
        with Image.open(attachment.path) as image:
            assert image.size == (400, 300)
        assert attachment.path.parent == applied.ctx.workdir
    # The before shot was kept in the facts for the after phase (and a recovery).
    before = applied.journal.after[0][3]["visual.before"]
    assert before == {url: str(applied.ctx.attachments[0].path)}


def test_visual_check_below_the_threshold_passes(
    site: PageServer, tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    applied = _visual(site, tmp_path, pm, _box(w=104))
    assert applied.outcome.status == "succeeded", applied.outcome.error
    [page] = applied.step_data(2)["pages"]
    assert 0 < page["ratio"] < 0.01
    assert page["threshold"] == 0.01
    assert Path(page["diff"]).is_file()
    assert len(applied.ctx.attachments) == 3


def test_visual_check_ignores_a_change_inside_a_mask(
    site: PageServer, tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    masks = ", masks: [{x: 0, y: 0, width: 400, height: 80}]"
    applied = _visual(site, tmp_path, pm, _box(x=220), masks=masks)
    assert applied.outcome.status == "succeeded", applied.outcome.error
    assert applied.step_data(2)["pages"][0]["ratio"] == 0


def test_visual_check_without_chromium_is_refused_before_anything_runs(
    site: PageServer, tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    playbook = (
        "name: look\nsteps:\n  - shell: [touch, ran]\n"
        "  - visual.check: {phase: before, chromium: /nonexistent/chromium}\n"
    )
    applied = _apply(tmp_path, pm, playbook, site_path=tmp_path, url=site.url)
    assert applied.outcome.status == "refused"
    assert applied.outcome.error == (
        "Chromium not found (/nonexistent/chromium): install the Debian package `chromium` "
        "(apt-get install chromium) on the agent's machine"
    )
    assert not (tmp_path / "ran").exists()


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
    applied = _apply(
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
    applied = _apply(
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
    applied = _apply(tmp_path, pm, MAINTENANCE_PLAYBOOK, site_path=tree.root, stack="magento")
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
    applied = _apply(tmp_path, pm, playbook, site_path=tmp_path / "wp", stack="wordpress")
    assert applied.outcome.status == "succeeded", applied.outcome.error
    assert not (docroot / ".maintenance").exists()


def test_dry_run_prints_the_maintenance_commands_and_runs_none(
    tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    tree = build_magento(tmp_path / "magento")
    magento = install_standin(tree.root / "bin/magento")
    applied = _apply(
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
    applied = _apply(tmp_path, pm, MAINTENANCE_PLAYBOOK, site_path=tmp_path, stack="composer")
    assert applied.outcome.status == "succeeded", applied.outcome.error
    assert applied.ctx.notes.count("no maintenance mode for stack composer") == 1
    assert applied.ctx.notes[-1] == (
        "maintenance mode was not turned on by this apply: left as it is"
    )
    assert [c.command for c in applied.ctx.commands] == ["touch updated"]
    assert [s.status for s in applied.outcome.steps] == ["ok", "changed", "ok"]
