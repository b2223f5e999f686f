"""Smoke checks, visual checks and maintenance mode (issue 9): against a real local HTTP server,
a real headless Chromium, and stand-in stack tools over the real sshd."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pluggy
import pytest
import yaml
from PIL import Image, ImageDraw

from tma_agent.apply.smoke import body_problem, check_page, smoke_client
from tma_agent.apply.visual import Rect, VisualError, compare_images, screenshot
from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.cli import run_tma
from tma_agent.testing.pages import DRIP_PATH, ENDLESS_PATH, Page, PageServer
from tma_agent.testing.playbook_run import Applied, apply_playbook_text


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
    # The server would take a minute; each read alone is short, the deadline holds the whole
    # (the bound leaves room for a loaded machine, far from the minute).
    assert took < 10
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


def test_tolerance_masks_and_the_diff_image_pixel_for_pixel(tmp_path: Path) -> None:
    before = Image.new("RGB", (100, 100), (200, 200, 200))
    after = before.copy()
    draw = ImageDraw.Draw(after)
    draw.rectangle((0, 0, 9, 9), fill=(200, 232, 200))  # 100 px, one channel +32: noise
    draw.rectangle((20, 20, 29, 29), fill=(200, 233, 200))  # 100 px, +33: a change
    draw.rectangle((50, 50, 59, 54), fill=(0, 0, 0))  # 50 px, a change, masked below
    before.save(tmp_path / "before.png")
    after.save(tmp_path / "after.png")
    plain = compare_images(tmp_path / "before.png", tmp_path / "after.png", tolerance=32)
    assert (plain.changed, plain.compared) == (150, 10000)
    assert plain.ratio == 0.015
    assert plain.diff.getpixel((25, 25)) == (255, 0, 0)
    assert plain.diff.getpixel((5, 5)) != (255, 0, 0)
    masked = compare_images(
        tmp_path / "before.png", tmp_path / "after.png", masks=[Rect(50, 50, 10, 5)]
    )
    # The mask covers exactly x 50..59, y 50..54: its 50 pixels leave the count and the area.
    assert (masked.changed, masked.compared) == (100, 10000 - 50)
    assert masked.diff.getpixel((55, 52)) == (120, 160, 255)


def test_images_of_different_sizes_count_the_rest_as_changed(tmp_path: Path) -> None:
    Image.new("RGB", (100, 100), "white").save(tmp_path / "a.png")
    Image.new("RGB", (100, 150), "white").save(tmp_path / "b.png")
    result = compare_images(tmp_path / "a.png", tmp_path / "b.png")
    assert result.changed == 100 * 50
    assert result.compared == 100 * 150


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    return get_plugin_manager()


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
    applied = apply_playbook_text(
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
    applied = apply_playbook_text(
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
    applied = apply_playbook_text(
        tmp_path, pm, HTTP_PLAYBOOK % {"status": 200}, site_path=tmp_path, url=site.url,
        dry_run=True,
    )  # fmt: skip
    assert applied.outcome.status == "planned"
    assert len(site.requested) == before
    assert f"would check {site.url}/broken (HTTP 200)" in applied.ctx.notes


def test_checks_without_url_are_refused_before_anything_runs(
    tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    playbook = "name: smoke\nsteps:\n  - shell: [touch, ran]\n  - %s\n"
    for step in ("http.check: {}", "visual.check: {phase: before}"):
        applied = apply_playbook_text(tmp_path, pm, playbook % step, site_path=tmp_path)
        assert applied.outcome.status == "refused"
        assert applied.outcome.error == (
            "site shop: environments.staging.url is not set (the checks need the address of the site)"
        )
        assert not (tmp_path / "ran").exists()


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
    return apply_playbook_text(
        tmp_path, pm, VISUAL_PLAYBOOK % {"masks": masks}, site_path=tree, url=site.url
    )


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
    applied = apply_playbook_text(tmp_path, pm, playbook, site_path=tmp_path, url=site.url)
    assert applied.outcome.status == "refused"
    assert applied.outcome.error == (
        "Chromium not found (/nonexistent/chromium): install the Debian package `chromium` "
        "(apt-get install chromium) on the agent's machine"
    )
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<br />\n<b>Parse error</b>:  syntax error in <b>x.php</b>", "the page shows a PHP parse error"),
        ("\nRecoverable fatal error: Object of class X could not be", "the page shows a PHP recoverable fatal error"),
        ("<table class='xdebug-error xe-fatal-error' dir='ltr'>", "the page shows a PHP fatal error"),
        ("<p>A Fatal error: mid-sentence is prose</p>", None),
        ("<p>There has been a critical error on your website.</p>", "the page is WordPress' \"There has been a critical error\" page"),
    ],
)  # fmt: skip
def test_what_counts_as_a_broken_php_page(body: str, problem: str | None) -> None:
    assert body_problem(body) == problem


def test_a_redirect_is_its_status_unless_followed(
    site: PageServer, tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    site.set("/old", Page("", 302, headers=(("Location", "/"),)))
    playbook = "name: smoke\nsteps:\n  - http.check: {path: /old%s}\n"
    refused = apply_playbook_text(tmp_path, pm, playbook % "", site_path=tmp_path, url=site.url)
    assert refused.outcome.error == f"step 1 (http.check): {site.url}/old: HTTP 302, expected 200"
    followed = apply_playbook_text(
        tmp_path, pm, playbook % ", follow_redirects: true", site_path=tmp_path, url=site.url
    )
    assert followed.outcome.status == "succeeded", followed.outcome.error


def test_the_configured_http_timeout_is_the_deadline(
    site: PageServer, tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    started = time.monotonic()
    applied = apply_playbook_text(
        tmp_path, pm, f"name: smoke\nsteps:\n  - http.check: {{path: {DRIP_PATH}}}\n",
        site_path=tmp_path, url=site.url, http={"timeout": 1},
    )  # fmt: skip
    assert time.monotonic() - started < 15  # the server would drip for a minute
    assert applied.outcome.error == (
        f"step 1 (http.check): {site.url}{DRIP_PATH}: no complete answer within 1 s"
    )


def test_a_page_that_does_not_load_gives_chromiums_reason(tmp_path: Path) -> None:
    with PageServer() as server:
        url = server.page_url("/")
    with pytest.raises(VisualError) as caught:
        screenshot(url, tmp_path / "x.png", width=200, height=200)
    assert str(caught.value) == (
        f"{url}: Chromium made no screenshot (page load failed: net::ERR_CONNECTION_REFUSED)"
    )


def test_tma_playbook_run_reports_a_failed_check_in_one_line(
    site: PageServer, tmp_path: Path
) -> None:
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "smoke.yaml").write_text(HTTP_PLAYBOOK % {"status": 200})
    config = {
        "state_dir": str(tmp_path / "state"),
        "apply": {"playbook_dirs": [str(playbooks)], "backup_dir": str(tmp_path / "bk")},
        "clients": [{"id": "acme", "name": "Acme"}],
        "sites": [
            {
                "id": "shop",
                "client": "acme",
                "environments": {"staging": {"path": str(tmp_path), "url": site.url}},
            }
        ],
    }
    (tmp_path / "tma.yaml").write_text(yaml.safe_dump(config))
    done = run_tma(
        "playbook", "run", "smoke", "--site", "shop", "--format", "table",
        config=tmp_path / "tma.yaml",
    )  # fmt: skip
    assert done.returncode == 4
    assert "undo 1. shell [changed]" in done.stdout
    assert done.stderr.strip() == (
        f"error: step 1 (http.check): {site.url}/broken: HTTP 500, expected 200"
    )
    assert "Traceback" not in done.stdout + done.stderr
