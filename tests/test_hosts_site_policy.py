"""The runner gives each site's host its tree policy from the config: `sites[].follow_symlinks`
and `limits.max_file_bytes` decide what a real `tma check` over SSH may read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tma_drupal.testing.feeds import (
    drupal10_histories,
    release,
    serve_release_histories,
)
from tma_drupal.testing.trees import build_drupal10

from tma_agent.config import Config
from tma_agent.models import SiteReport
from tma_agent.plugins import get_plugin_manager
from tma_agent.runner import CheckRun
from tma_agent.sources import Fetcher
from tma_agent.testing.composer_answers import advisories_route
from tma_agent.testing.feeds import FeedServer
from tma_agent.testing.sshd import SSHServer

FEEDS = drupal10_histories(
    {"pathauto": "8.x-1.13", "leaky": "8.x-1.13"}, core=[release("10.2.3")], core_branches="10.2."
)


def _check(sshd: SSHServer, site: Path, tmp_path: Path, **site_keys: Any) -> SiteReport:
    with FeedServer() as server:
        drupal = serve_release_histories(server, FEEDS)
        server.routes["/api/security-advisories/"] = advisories_route({})
        config = Config.model_validate(
            {
                "state_dir": str(tmp_path / "state"),
                "ssh": {
                    "key_file": str(sshd.client_key_path),
                    "known_hosts": str(sshd.known_hosts_path),
                    "use_agent": False,
                },
                "sources": {"drupal": {"url": drupal}, "packagist": {"url": server.url}},
                "clients": [{"id": "c", "name": "C"}],
                "sites": [
                    {
                        "id": "site",
                        "client": "c",
                        "environments": {
                            "production": {
                                "host": f"ssh://{sshd.user}@127.0.0.1:{sshd.port}",
                                "path": str(site),
                            }
                        },
                        **site_keys,
                    }
                ],
            }
        )
        with Fetcher() as fetcher:
            run = CheckRun(config, get_plugin_manager(), fetcher=fetcher)
            [report] = run.run(config.sites)
    assert run.round_trips["site"] <= 2
    return report


def _leaky_site(base: Path) -> Path:
    # A contrib module whose directory links out of the site, to another site's copy.
    site = build_drupal10(base / "site", modules={"pathauto": "8.x-1.12"}).project_root
    other = build_drupal10(base / "other", modules={"leaky": "8.x-1.2"}).project_root
    (site / "web/modules/contrib/leaky").symlink_to(other / "web/modules/contrib/leaky")
    return site


def test_a_module_linked_out_of_the_tree_is_not_read(sshd: SSHServer, tmp_path: Path) -> None:
    site = _leaky_site(sshd.make_shared_dir())
    report = _check(sshd, site, tmp_path)
    assert report.status == "updates", report.error
    versions = {f.name: f.installed for f in report.components}
    assert versions["pathauto"] == "8.x-1.12"
    # What the link points at is never read: no version can come from it.
    assert versions.get("leaky") is None


def test_follow_symlinks_reads_the_linked_module(sshd: SSHServer, tmp_path: Path) -> None:
    site = _leaky_site(sshd.make_shared_dir())
    report = _check(sshd, site, tmp_path, follow_symlinks=True)
    versions = {f.name: f.installed for f in report.components}
    assert versions["leaky"] == "8.x-1.2"
    assert versions["pathauto"] == "8.x-1.12"


def test_links_and_folders_the_ssh_user_cannot_enter_are_unknown_modules(
    sshd: SSHServer, tmp_path: Path
) -> None:
    # Issue 6: a link into a root-only directory failed the whole scan (`exit status 1`) and
    # the site was `error`; a root-only module folder made its module vanish.
    assert sshd.is_root, "this test needs root: it makes directories tma-test cannot enter"
    base = sshd.make_shared_dir()
    site = _leaky_site(base)
    closed = base / "closed"
    (closed / "inner").mkdir(parents=True)
    closed.chmod(0o700)
    (site / "web/modules/contrib/gone").symlink_to(closed / "inner")
    secret = site / "web/modules/contrib/leaky"
    secret.unlink()
    build_drupal10(base / "third", modules={"leaky": "8.x-1.2"})
    (base / "third/web/modules/contrib/leaky").rename(secret)
    secret.chmod(0o700)
    report = _check(sshd, site, tmp_path)
    assert report.status == "updates", report.error
    found = {f.name: f for f in report.components}
    assert found["pathauto"].installed == "8.x-1.12"
    assert found["gone"].update == "unknown"
    assert found["gone"].reason == "web/modules/contrib/gone: symlink leaving the site tree"
    assert found["leaky"].update == "unknown"
    assert found["leaky"].reason == "web/modules/contrib/leaky: permission denied"
