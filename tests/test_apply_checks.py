"""Smoke checks, visual checks and maintenance mode (issue 9): against a real local HTTP server,
a real headless Chromium, and stand-in stack tools over the real sshd."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from tma_drupal.maintenance import maintenance_commands as drupal_maintenance
from tma_drupal.testing.trees import build_drupal7, build_drupal10
from tma_prestashop.maintenance import maintenance_commands as prestashop_maintenance
from tma_wordpress.maintenance import maintenance_commands as wordpress_maintenance
from tma_wordpress.testing.trees import build_wordpress

from tma_agent.apply.smoke import check_page, smoke_client
from tma_agent.apply.visual import Rect, compare_images, screenshot
from tma_agent.hosts import SSHHost
from tma_agent.testing.pages import DRIP_PATH, ENDLESS_PATH, Page, PageServer
from tma_agent.testing.sshd import SSHServer
from tma_agent.testing.standins import give_tree_to, install_standin


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
