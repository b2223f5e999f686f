"""The site page's before/after screenshots: files made by a real visual.check (headless
Chromium, `tma playbook run` on globex's shop in tests/web_portal.py), recorded in the apply
journal and served from `/sites/SITE/applies/ID/files/NAME` to whoever sees the site, and
nothing else: not another site's run, not a name the journal did not record, not a recorded
path leading out of `<state_dir>/applies/<site>/`, not an oversized file."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from check_schema import assert_valid
from PIL import Image
from web_portal import LOOK, PASSWORDS, Portal
from web_portal import portal as portal  # the fixture

from tma_agent.config import load_config
from tma_agent.ledger import open_ledger
from tma_agent.ledger.models import ApplyRun
from tma_agent.testing.web import logged_in
from tma_agent.web.artifacts import MAX_FILE_BYTES


def _as(portal: Portal, name: str) -> Any:
    return logged_in(portal.url, name, PASSWORDS[name])


def test_the_site_page_shows_the_visual_checks_three_screenshots(portal: Portal) -> None:
    journal_id, _ = portal.shop_screenshot()
    with _as(portal, "globex-cto") as web:
        site = web.get("/api/sites/shop").json()
        assert_valid(site, "web-site.schema.json")
        (applied,) = site["applies"]
        assert applied["id"] == journal_id and applied["state"] == "rolled_back"
        (visual,) = applied["visual"]
        assert visual["page"].endswith(LOOK) and visual["threshold"] == 0.01
        assert 0.01 < visual["ratio"] < 0.2  # the box moved: a few % of the page
        assert [f["label"].split(":")[0] for f in applied["files"]] == [
            "before",
            "after",
            "changes",
        ]
        for kind in ("before", "after", "changes"):
            assert visual[kind].startswith(f"/sites/shop/applies/{journal_id}/files/visual-")
            shot = web.get(visual[kind])
            assert shot.status_code == 200, visual[kind]
            assert shot.headers["content-type"] == "image/png"
            assert shot.headers["x-content-type-options"] == "nosniff"
            assert "content-disposition" not in shot.headers  # shown, not downloaded
            with Image.open(io.BytesIO(shot.content)) as image:
                assert image.size == (400, 300)
        page = web.get("/sites/shop").text
        assert f'<a href="{visual["after"]}"><img class="shot shot-after"' in page
        assert f"{visual['ratio'] * 100:.2f}% of the page changed (limit 1.00%)" in page
    with _as(portal, "acme-cto") as other:
        assert other.get(visual["before"]).status_code == 404  # globex's


@pytest.fixture
def recorded(portal: Portal) -> Iterator[tuple[int, Path]]:
    """Extra entries in shop's journal row (restored afterwards): a text file of the run, a
    symbolic link out of the applies directory, the ledger itself, an oversized file."""
    config = load_config(portal.fleet.config)
    journal_id, first = portal.shop_screenshot()
    with open_ledger(config) as ledger, ledger.session() as session:
        run = session.get(ApplyRun, journal_id)
        assert run is not None
        workdir = Path(run.context["files"][0]["path"]).parent
        kept = dict(run.context)
    (workdir / "notes.txt").write_text("the run's notes\n")
    (workdir / "page.html").write_text("<script>alert(1)</script>")
    (workdir / "escape.png").unlink(missing_ok=True)
    (workdir / "escape.png").symlink_to(config.state_path / "ledger.db")
    with (workdir / "huge.png").open("wb") as huge:
        huge.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    extra = ["notes.txt", "page.html", "escape.png", "huge.png"]
    files = [{"label": name, "path": str(workdir / name)} for name in extra]
    files.append({"label": "ledger", "path": str(config.state_path / "ledger.db")})
    with open_ledger(config) as ledger, ledger.session() as session:
        row = session.get(ApplyRun, journal_id)
        assert row is not None
        row.context = {**kept, "files": [*kept["files"], *files]}
    try:
        yield journal_id, workdir
    finally:
        with open_ledger(config) as ledger, ledger.session() as session:
            row = session.get(ApplyRun, journal_id)
            assert row is not None
            row.context = kept
        for name in extra:
            (workdir / name).unlink()
        assert first == portal.shop_screenshot()[1]


def test_only_recorded_files_inside_the_sites_applies_are_served(
    portal: Portal, recorded: tuple[int, Path]
) -> None:
    journal_id, workdir = recorded
    base = f"/sites/shop/applies/{journal_id}/files"
    (workdir / "unrecorded.png").write_bytes(b"\x89PNG not in the journal")
    www_journal = _www_journal(portal)
    try:
        with _as(portal, "alice") as web:
            notes = web.get(f"{base}/notes.txt")
            assert notes.status_code == 200 and notes.text == "the run's notes\n"
            assert notes.headers["content-type"].startswith("text/plain")
            assert notes.headers["content-disposition"] == 'attachment; filename="notes.txt"'
            page = web.get(f"{base}/page.html")  # a page the run saved: bytes, never run
            assert page.headers["content-type"] == "application/octet-stream"
            assert page.headers["content-disposition"].startswith("attachment")
            refused = [
                f"{base}/escape.png",  # recorded, but a link out of applies/shop/
                f"{base}/ledger.db",  # recorded, but outside applies/shop/
                f"{base}/huge.png",  # over the size bound
                f"{base}/unrecorded.png",  # in the directory, not in the journal
                f"{base}/..%2F..%2F..%2Fledger.db",
                f"{base}/%2E%2E",
                f"/sites/www/applies/{journal_id}/files/notes.txt",  # shop's run, www's address
                f"/sites/shop/applies/{www_journal}/files/notes.txt",
                "/sites/shop/applies/999999/files/notes.txt",
                f"/sites/nosuch/applies/{journal_id}/files/notes.txt",
            ]
            for path in refused:
                answer = web.get(path)
                assert answer.status_code == 404, path
                assert "SQLite" not in answer.text and "alert" not in answer.text
    finally:
        (workdir / "unrecorded.png").unlink()


def _www_journal(portal: Portal) -> int:
    with (
        open_ledger(load_config(portal.fleet.config)) as ledger,
        ledger.session() as session,
    ):
        run = session.query(ApplyRun).filter_by(site="www").one()
        return run.id
