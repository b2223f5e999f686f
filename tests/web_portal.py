"""A ledger filled through the real CLI for the dashboard tests: two clients (acme: two
Drupal sites and a contract; globex: one site), a real `tma run` against local feeds, requests
typed with `tma requests add`, time logged with `tma time log`, accounts made with
`tma users add`; and `tma serve` running on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from run_fleet import Fleet
from tma_drupal.testing.trees import build_drupal10

from tma_agent.testing.feeds import FeedServer
from tma_agent.testing.pages import Page, PageServer
from tma_agent.testing.web import served

__all__ = ["LOOK", "MONTH", "PASSWORDS", "Portal", "configure", "make_portal"]

MONTH = "2026-11"
PASSWORDS = {
    "alice": "staff-password-123",
    "acme-cto": "acme-password-456",
    "globex-cto": "globex-password-789",
}
SECRET = "s" * 40


@dataclass
class Portal:
    fleet: Fleet
    url: str
    #: The ledger ids of each client's typed request.
    request_of: dict[str, int]

    def tma(self, *args: str) -> Any:
        return self.fleet.tma(*args)

    def shop_screenshot(self) -> tuple[int, str]:
        """globex's shop: its visual check's journal id and the name of its first file."""
        from tma_agent.config import load_config
        from tma_agent.ledger import open_ledger
        from tma_agent.ledger.models import ApplyRun

        with open_ledger(load_config(self.fleet.config)) as ledger, ledger.session() as session:
            run = session.query(ApplyRun).filter_by(site="shop").one()
            return run.id, Path(run.context["files"][0]["path"]).name

    def json(self, *args: str) -> Any:
        done = self.fleet.tma(*args, "--format", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def _account(fleet: Fleet, name: str, client: str | None) -> dict[str, Any]:
    """`tma users add NAME [--client ID]` with the password on stdin: its printed entry."""
    import subprocess

    from tma_agent.testing.cli import TMA

    extra = ["--client", client] if client else []
    done = subprocess.run(
        [*TMA, "--config", str(fleet.config), "users", "add", name, *extra, "--password-stdin"],
        input=PASSWORDS[name] + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.startswith("- ") and PASSWORDS[name] not in done.stdout + done.stderr
    entry: dict[str, Any] = json.loads(line[2:])
    return entry


#: globex's shop before and after its playbook: the red box moves (visual.check's subject).
BOX_PAGE = """<html><body style="margin:0;background:#fff;font-family:sans-serif">
<div style="position:absolute;left:{x}px;top:20px;width:100px;height:40px;background:#c00"></div>
<p style="position:absolute;left:20px;top:100px">Stable text</p></body></html>"""
#: The staging page the visual check shoots (set by `make_portal` while it runs).
LOOK = "/look"


def configure(fleet: Fleet, *, staging_url: str | None = None, **web: Any) -> None:
    shop = fleet.tmp_path / "shop"
    if not shop.exists():
        build_drupal10(shop)
    shop_envs: dict[str, Any] = {"production": {"path": str(shop)}}
    if staging_url is not None:
        shop_envs["staging"] = {"path": str(shop), "url": staging_url}
    # www has a staging environment too: a playbook runs there (the site page's applies).
    sites = [
        {
            "id": name,
            "client": "acme",
            "stack": "drupal",
            "environments": {"production": {"path": str(path)}}
            | ({"staging": {"path": str(path)}} if name == "www" else {}),
        }
        for name, path in fleet.sites.items()
    ] + [
        {
            "id": "shop",
            "client": "globex",
            "stack": "drupal",
            "environments": shop_envs,
        }
    ]
    clients = [
        {"id": "acme", "name": "ACME", "contract": {"days": 2}},
        {"id": "globex", "name": "Globex Corp", "contract": {"days": 1}},
    ]
    fleet.write(clients=clients, sites=sites, web={"secret_key": SECRET, **web})


def make_portal(
    tmp: Path,
    server: FeedServer,
    *,
    database: str | None = None,
    tickets: dict[str, Any] | None = None,
    visual: bool = True,
    **web: Any,
) -> Portal:
    """With `visual`, globex's shop gets a staging environment and a visual check's run."""
    fleet = Fleet(tmp, server)
    if database is not None:
        fleet.write(database={"url": database})
    if tickets is not None:
        fleet.write(tickets=tickets)
    configure(fleet)
    users = [
        _account(fleet, "alice", None),
        _account(fleet, "acme-cto", "acme"),
        _account(fleet, "globex-cto", "globex"),
    ]
    with PageServer() as staging:
        configure(fleet, users=users, staging_url=staging.url if visual else None, **web)
        fleet.run()
        if visual:
            _visual_check(fleet, staging)
    request_of = {}
    for site, client in (("www", "acme"), ("shop", "globex")):
        done = fleet.tma(
            "requests",
            "add",
            "--site",
            site,
            "--by",
            "alice",
            f"<script>alert('{client}')</script> fix",
            "A bug to fix.",
        )
        assert done.returncode == 0, done.stderr
        request_of[client] = int(done.stdout.split()[1].lstrip("#"))
        logged = fleet.tma(
            "time",
            "log",
            "--site",
            site,
            "--hours",
            "1.5",
            "--kind",
            "corrective",
            "--date",
            f"{MONTH}-03",
            f"Fixed {site}'s form",
        )
        assert logged.returncode == 0, logged.stderr
    playbook = tmp / "hello.yaml"
    playbook.write_text(
        "name: hello\ndescription: One shell step.\nsteps:\n"
        '  - name: Say hello\n    shell: ["true"]\n'
    )
    ran = fleet.tma("playbook", "run", str(playbook), "--site", "www", "--format", "json")
    assert ran.returncode == 0, ran.stderr
    return Portal(fleet, "", request_of)


def _visual_check(fleet: Fleet, staging: PageServer) -> None:
    """`tma playbook run` on globex's shop staging: a real visual.check (headless Chromium)
    before and after a command moves the box, above the threshold: rolled back, its three
    screenshots recorded in the apply journal."""
    page, moved = fleet.tmp_path / "look.html", fleet.tmp_path / "moved.html"
    page.write_text(BOX_PAGE.format(x=20))
    moved.write_text(BOX_PAGE.format(x=220))
    staging.set(LOOK, Page(file=page))
    playbook = fleet.tmp_path / "look.yaml"
    check = f"{{phase: %s, path: {LOOK}, width: 400, height: 300}}"
    playbook.write_text(
        "name: look\nsteps:\n"
        f"  - visual.check: {check % 'before'}\n"
        f"  - shell: [cp, {moved}, {page}]\n"
        f"  - visual.check: {check % 'after'}\n"
    )
    done = fleet.tma("playbook", "run", str(playbook), "--site", "shop", "--format", "json")
    assert done.returncode == 4, done.stdout + done.stderr  # the check failed: rolled back


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    with FeedServer() as server:
        made = make_portal(tmp_path_factory.mktemp("portal"), server)
        with served(made.fleet.config) as url:
            made.url = url
            yield made
