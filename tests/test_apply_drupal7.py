"""Drupal 7 core replaced from its release archive through the real `tma playbook run`: a small
tree in the real layout, the release feed and a tar.gz served on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tma_drupal.testing.feeds import release, release_history_xml
from tma_drupal.testing.trees import build_drupal7

from tma_agent.errors import TmaError
from tma_agent.models import Finding
from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.cli import run_tma
from tma_agent.testing.feeds import FeedServer, Reply

OLD, NEW = "7.98", "7.103"
PLAYBOOK = """\
name: d7-test
variables:
  version: {required: true}
  fail_after: {default: false}
steps:
  - drupal7.core_replace: {version: "{{ version }}"}
  - shell: [sh, -c, "exit 7"]
    when: fail_after
on_failure:
  - drupal7.restore: {}
"""
RELEASE_HTACCESS = "# Drupal 7.103 .htaccess\nOptions -Indexes\n"
ROBOTS = "User-agent: *\nCrawl-delay: 10\n"


def tree_sums(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.md5(
            p.read_bytes(), usedforsecurity=False
        ).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def release_archive(base: Path) -> bytes:
    """Drupal 7.103 as drupal.org packs it: one `drupal-7.103/` directory, `sites/` with only
    its defaults."""
    top = base / f"drupal-{NEW}"
    build_drupal7(top, core=NEW, modules={}, custom_modules=())
    (top / "sites" / "default" / "settings.php").unlink()
    (top / "sites" / "default" / "default.settings.php").write_text("<?php\n// defaults\n")
    (top / "includes" / "new.inc").write_text("<?php\n// new in 7.103\n")
    (top / ".htaccess").write_text(RELEASE_HTACCESS)
    (top / "robots.txt").write_text(ROBOTS)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tarred:
        tarred.add(top, arcname=top.name)
    return buffer.getvalue()


def symlink_archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tarred:
        link = tarfile.TarInfo(f"drupal-{NEW}/includes/bootstrap.inc")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tarred.addfile(link)
    return buffer.getvalue()


class ReleaseFeed:
    def __init__(self, server: FeedServer, archive: bytes) -> None:
        self.server = server
        self.serve(archive)

    def serve(self, archive: bytes, mdhash: str | None = None) -> None:
        link = f"{self.server.url}/files/drupal-{NEW}.tar.gz"
        xml = release_history_xml(
            "drupal", type="project_core", api_version="7.x", supported_majors=[7],
            recommended_major=7, supported_branches=None,
            releases=[release(NEW, "Security update", download_link=link), release(OLD)],
        )  # fmt: skip
        digest = mdhash or hashlib.md5(archive, usedforsecurity=False).hexdigest()
        xml = xml.replace("</download_link>", f"</download_link>\n<mdhash>{digest}</mdhash>", 1)
        self.server.routes["/drupal/7.x"] = Reply(xml)
        self.server.routes[f"/files/drupal-{NEW}.tar.gz"] = Reply(archive)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return release_archive(tmp_path_factory.mktemp("d7release"))


@pytest.fixture
def feed(archive: bytes) -> Iterator[ReleaseFeed]:
    with FeedServer() as server:
        yield ReleaseFeed(server, archive)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    build_drupal7(root, core=OLD)
    (root / ".htaccess").write_text("# Agency redirect\nRewriteRule ^old$ /new [R=301,L]\n")
    (root / "robots.txt").write_text(ROBOTS)
    (root / "includes" / "removed-in-7.103.inc").write_text("<?php\n")
    (root / "profiles" / "agency" / "agency.profile").parent.mkdir(parents=True)
    (root / "profiles" / "agency" / "agency.profile").write_text("<?php\n// custom profile\n")
    (root / "sites" / "default" / "files").mkdir()
    (root / "sites" / "default" / "files" / "upload.pdf").write_bytes(b"%PDF-1.4 client file")
    return root


def run(tmp_path: Path, site: Path, feed: ReleaseFeed, *variables: str) -> tuple[int, Any]:
    (tmp_path / "playbooks").mkdir(exist_ok=True)
    (tmp_path / "playbooks" / "d7-test.yaml").write_text(PLAYBOOK)
    config = {
        "state_dir": str(tmp_path / "state"),
        "http": {"timeout": 10, "retries": 1},
        "sources": {"drupal": {"url": feed.server.url}},
        "apply": {"playbook_dirs": [str(tmp_path / "playbooks")],
                  "backup_dir": str(tmp_path / "backups")},
        "clients": [{"id": "acme", "name": "Acme"}],
        "sites": [{"id": "d7", "client": "acme", "stack": "drupal",
                   "environments": {"staging": {"host": "local", "path": str(site)}}}],
    }  # fmt: skip
    path = tmp_path / "tma.yaml"
    path.write_text(yaml.safe_dump(config))
    options = [arg for item in variables for arg in ("--var", item)]
    done = run_tma(
        "playbook", "run", "d7-test", "--site", "d7", *options, "--format", "json", config=path
    )
    assert "Traceback" not in done.stderr
    return done.returncode, json.loads(done.stdout)


def test_core_replaced_sites_and_custom_profile_kept_htaccess_noted(
    site: Path, tmp_path: Path, feed: ReleaseFeed
) -> None:
    sites_before = tree_sums(site / "sites")
    htaccess = (site / ".htaccess").read_text()
    code, outcome = run(tmp_path, site, feed, f"version={NEW}")
    assert code == 0, outcome
    assert f"define('VERSION', '{NEW}')" in (site / "includes" / "bootstrap.inc").read_text()
    assert (site / "includes" / "new.inc").is_file()
    assert not (site / "includes" / "removed-in-7.103.inc").exists()
    assert f'version = "{NEW}"' in (site / "profiles/standard/standard.info").read_text()
    assert (site / "profiles" / "agency" / "agency.profile").is_file()
    assert tree_sums(site / "sites") == sites_before
    assert not (site / "sites" / "default" / "default.settings.php").exists()
    assert (site / ".htaccess").read_text() == htaccess
    assert (site / "robots.txt").read_text() == ROBOTS
    assert any(".htaccess is customised" in note for note in outcome["notes"])
    assert not list(site.glob(".tma-swap-*"))


def test_a_later_failure_puts_the_old_core_back(
    site: Path, tmp_path: Path, feed: ReleaseFeed
) -> None:
    before = tree_sums(site)
    code, outcome = run(tmp_path, site, feed, f"version={NEW}", "fail_after=true")
    assert code == 4 and outcome["status"] == "rolled_back"
    assert tree_sums(site) == before
    assert not list(site.glob(".tma-swap-*"))


@pytest.mark.parametrize("bad", ["mdhash", "symlink"])
def test_a_bad_archive_is_refused_before_anything_runs(
    site: Path, tmp_path: Path, feed: ReleaseFeed, archive: bytes, bad: str
) -> None:
    if bad == "mdhash":
        feed.serve(archive, mdhash="0" * 32)
    else:
        feed.serve(symlink_archive())
    before = tree_sums(site)
    code, outcome = run(tmp_path, site, feed, f"version={NEW}")
    assert code == 4 and outcome["status"] == "refused"
    assert ("mdhash" if bad == "mdhash" else "a link") in outcome["error"]
    assert tree_sums(site) == before
    assert not (tmp_path / "backups").exists()


def _core(installed: str, recommended: str) -> Finding:
    return Finding("drupal", "core", installed, recommended, recommended, "security", [], "x")


def test_drupal7_plan_and_hostile_versions() -> None:
    pm = get_plugin_manager()
    plan = pm.hook.tma_apply_plan(site=None, stack="drupal", findings=[_core(OLD, NEW)])
    assert (plan.playbook, plan.variables) == ("drupal7-core", {"version": NEW})
    with pytest.raises(TmaError, match="refused Drupal 7 version"):
        pm.hook.tma_apply_plan(site=None, stack="drupal", findings=[_core(OLD, "7.1;id")])
    assert pm.hook.tma_apply_plan(site=None, stack="drupal", findings=[_core(OLD, OLD)]) is None
