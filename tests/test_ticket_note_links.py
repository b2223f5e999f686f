"""The dashboard links a ticket note carries open through a real `tma serve` (issues 9 and 11):
a real `tma apply` of `www` (the real sshd, real git, real visual checks in headless Chromium,
and a third-party step keeping a file whose name needs escaping) writes its note to the local
GitHub (`FakeGitHub`: GitHub keeps no files, the comment links them), `web.base_url` being the
address of a real `tma serve` on the same configuration and ledger. Every link read back from
the comment gives the file's bytes to staff and to the site's client, sends whoever is not
logged in to the log-in page and from there back to the file, and gives the same 404 to
another client, to another site's run and to a traversal."""

from __future__ import annotations

import html
import http.client
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
import pytest
from attach_site import UPDATE, AttachSite
from attach_site import pages as pages  # the fixture
from tma_github.testing import FakeGitHub

from tma_agent.testing.cli import run_tma
from tma_agent.testing.distributions import install_distribution
from tma_agent.testing.pages import PageServer
from tma_agent.testing.sshd import SSHServer
from tma_agent.testing.web import csrf_of, free_port, logged_in, served
from tma_agent.tickets.files import apply_file_url
from tma_agent.web.auth import hash_password

PASSWORD = "note-links-password-1"
#: staff, acme's account (www is acme's), globex's account (shop is globex's).
STAFF, OWN, OTHER = "alice", "acme-cto", "globex-cto"
#: A file name a link must escape (space, `#`, `?`, `%`, not ASCII) and the server decode.
EVIDENCE = "notes #1 ?100% é.txt"

#: A third party's playbook step that keeps a file of the run (what `visual.check` does).
EVIDENCE_STEP = """
from pydantic import BaseModel, ConfigDict
from tma_agent.apply import StepInfo, StepResult
from tma_agent.hookspecs import hookimpl


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    text: str


def save(ctx, args):
    path = ctx.workdir / args.name
    path.write_text(args.text)
    ctx.attach(path, label="evidence: " + args.name)
    return StepResult(changed=False)


@hookimpl
def tma_register_steps(register):
    register(StepInfo(name="evidence.save", run=save, args_model=Evidence,
                      description="Keep a file of the run"))
"""


def _save(who: str, indent: str = "      ") -> str:
    """The playbook line of the step keeping `EVIDENCE`, its text naming `who`."""
    return f'{indent}- evidence.save: {{name: "{EVIDENCE}", text: "what {who} saw\\n"}}\n'


@dataclass
class Linked:
    site: AttachSite
    #: `tma serve`'s address, also `web.base_url`.
    url: str
    applied: dict[str, Any]
    #: Every dashboard link of the GitHub comments, as GitHub shows them.
    links: list[str]
    #: globex's shop: its run's journal id and its kept file.
    shop_journal: int
    shop_file: Path

    @property
    def evidence_link(self) -> str:
        (link,) = [link for link in self.links if link.endswith(_escaped(EVIDENCE))]
        return link

    @property
    def shop_link(self) -> str:
        """The evidence's link, made shop's: its run, its file of the same name."""
        www = f"/sites/www/applies/{self.applied['journal']}/"
        return self.evidence_link.replace(www, f"/sites/shop/applies/{self.shop_journal}/")

    def on_disk(self, link: str) -> Path:
        """The apply's file a link names (by the journal's recorded path)."""
        name = unquote(link.rsplit("/", 1)[1])
        (path,) = [Path(a["path"]) for a in self.applied["attachments"] if a["path"].endswith(name)]
        return path


def _configure(site: AttachSite, github: FakeGitHub, base_url: str, shop: Path) -> None:
    tickets = {"backend": "github", "url": github.url, "token": github.token}
    site.configure({**tickets, "project": github.repo})
    users = [
        {"name": STAFF, "role": "staff"},
        {"name": OWN, "role": "client", "client": "acme"},
        {"name": OTHER, "role": "client", "client": "globex"},
    ]
    shop_site = {
        "id": "shop",
        "client": "globex",
        "stack": "flatfile",
        "environments": {"staging": {"path": str(shop)}},
    }
    site.write(
        clients=[{"id": "acme", "name": "ACME"}, {"id": "globex", "name": "Globex"}],
        sites=[*site.extra["sites"], shop_site],
        web={
            "base_url": base_url + "/",  # the trailing slash makes no double one
            "secret_key": "k" * 40,
            "users": [{**u, "password_hash": hash_password(PASSWORD)} for u in users],
        },
    )


def _shop_run(site: AttachSite, shop: Path) -> tuple[int, Path]:
    playbook = site.tmp_path / "shop-notes.yaml"
    playbook.write_text("name: shop-notes\nsteps:\n" + _save("shop", "  "))
    done = run_tma(
        "playbook", "run", str(playbook), "--site", "shop", "--format", "json",
        config=site.config, env=site.env,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout, done.stderr)
    (kept,) = json.loads(done.stdout)["attachments"]
    with sqlite3.connect(site.ledger) as db:
        ((journal,),) = db.execute("select id from apply_runs where site = 'shop'").fetchall()
    return int(journal), Path(kept["path"])


@pytest.fixture(scope="module")
def linked(
    sshd: SSHServer, pages: PageServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Linked]:
    tmp = tmp_path_factory.mktemp("note-links")
    site = AttachSite(sshd, tmp, pages)
    install_distribution(
        Path(site.env["PYTHONPATH"]), "tma_evidence", EVIDENCE_STEP, version="1.0", entry="evidence"
    )
    site.playbook(
        "flatfile-update",
        UPDATE.replace("@PAGE@", "true").replace(
            "      - git.commit: {}", _save("www") + "      - git.commit: {}"
        ),
    )
    shop = tmp / "shop"
    shop.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    github = FakeGitHub()
    github.start()
    try:
        _configure(site, github, url, shop)
        (request,) = site.json("run", "--site", "www")["requests"]
        applied = site.json("apply", "--site", "www")
        assert applied["state"] == "succeeded", applied
        shop_journal, shop_file = _shop_run(site, shop)
        comments = github.comments[int(request["ticket"])]
        bodies = "\n".join(c["body"] for c in comments)
        # Markdown links, `[text](<destination>)`, as GitHub renders them.
        links = re.findall(r"\]\(<([^<>\s]+)>\)", bodies)
        assert len(re.findall(re.escape(url), bodies)) == len(links)  # no other dashboard URL
        with served(site.config, port=port):
            yield Linked(site, url, applied, links, shop_journal, shop_file)
    finally:
        github.stop()
        site.close()


def test_the_comment_links_every_file_of_the_apply(linked: Linked) -> None:
    journal = linked.applied["journal"]
    names = [Path(a["path"]).name for a in linked.applied["attachments"]]
    assert len(names) == 4 and EVIDENCE in names  # three images and the step's file
    base = f"{linked.url}/sites/www/applies/{journal}/files/"
    assert sorted(linked.links) == sorted(base + _escaped(n) for n in names), linked.links
    assert f"{base}notes%20%231%20%3F100%25%20%C3%A9.txt" in linked.links


def _escaped(name: str) -> str:
    return quote(name, safe="")


def test_each_link_gives_the_files_bytes_to_staff_and_to_the_sites_client(
    linked: Linked,
) -> None:
    for name in (STAFF, OWN):
        with logged_in(linked.url, name, PASSWORD) as web:
            for link in linked.links:
                answer = web.get(link)
                assert answer.status_code == 200, (name, link, answer.text[:200])
                assert answer.content == linked.on_disk(link).read_bytes(), link
                assert answer.headers["x-content-type-options"] == "nosniff"
                if link.endswith(".png"):
                    assert answer.headers["content-type"] == "image/png"
                    assert "content-disposition" not in answer.headers  # shown in the page
                else:  # a download under its own name (RFC 6266's `filename*`)
                    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
                    assert answer.text == "what www saw\n"
                    disposition = answer.headers["content-disposition"]
                    assert disposition == f"attachment; filename*=UTF-8''{_escaped(EVIDENCE)}"
                    assert unquote(disposition.split("''", 1)[1]) == EVIDENCE


def test_without_a_session_a_link_leads_to_the_log_in_then_to_the_file(linked: Linked) -> None:
    for link in linked.links:
        with httpx.Client(base_url=linked.url, timeout=10) as browser:
            answer = browser.get(link)
            assert answer.status_code == 303 and answer.content == b"", link
            assert answer.headers["location"].startswith("/login?next="), answer.headers
            form = browser.get(answer.headers["location"])
            assert form.status_code == 200 and "SQLite" not in form.text
            fields = {"name": OWN, "password": PASSWORD, "csrf": csrf_of(form.text)}
            done = browser.post("/login", data={**fields, "next": _next_of(form.text)})
            assert done.status_code == 303
            assert linked.url + done.headers["location"] == link  # back to the file
            opened = browser.get(link)
            assert opened.status_code == 200, link
            assert opened.content == linked.on_disk(link).read_bytes()


def _next_of(page: str) -> str:
    """Where the log-in form goes once done (its hidden `next` field)."""
    found = re.search(r'name="next" value="([^"]*)"', page)
    assert found is not None, "no next field in the log-in form"
    return html.unescape(found.group(1))


def test_another_clients_account_gets_404_never_the_bytes(linked: Linked) -> None:
    with logged_in(linked.url, OTHER, PASSWORD) as web:
        for link in linked.links:
            answer = web.get(link)
            assert answer.status_code == 404, link
            assert linked.on_disk(link).read_bytes()[:64] not in answer.content
        # The account works: its own client's file opens.
        assert web.get(linked.shop_link).content == b"what shop saw\n"


def test_another_sites_run_and_traversals_get_404(linked: Linked) -> None:
    journal, shop_journal = linked.applied["journal"], linked.shop_journal
    evidence = urlsplit(linked.evidence_link).path
    shop = urlsplit(linked.shop_link).path
    ledger = linked.site.ledger.read_bytes()[:16]  # "SQLite format 3"
    to_shop = Path("..", "..", "shop", linked.shop_file.parent.name, EVIDENCE)
    www_dir = linked.on_disk(linked.evidence_link).parent
    assert (www_dir / to_shop).resolve() == linked.shop_file  # the traversal would reach it
    assert (www_dir / "playbook-flatfile-update.yaml").is_file()  # kept, not recorded
    files = evidence.rsplit("/", 1)[0]
    # Both runs recorded a file of that name: only the site and the journal tell them apart.
    refused = [
        evidence.replace(f"/{journal}/", f"/{shop_journal}/"),  # shop's run, www's address
        shop.replace(f"/{shop_journal}/", f"/{journal}/"),  # www's run, shop's address
        evidence.replace(f"/{journal}/", f"/{journal + 1000}/"),
        f"{files}/..%2F..%2F..%2Fledger.db",
        f"{files}/%2e%2e%2f%2e%2e%2f%2e%2e%2fledger.db",
        f"{files}/..%5C..%5C..%5Cledger.db",
        f"{files}/%252e%252e%252f%252e%252e%252fledger.db",
        f"{files}/../../../../ledger.db",  # sent as is: no client-side dot removal
        f"{files}/..",
        f"{files}/%2E%2E",
        f"{files}/" + "%2F".join(_escaped(part) for part in to_shop.parts),
        f"{files}/playbook-flatfile-update.yaml",  # in the run's directory, not recorded
        f"{evidence}%00",
        shop.replace("/sites/shop/", "/sites/..%2Fshop/"),
    ]
    with logged_in(linked.url, STAFF, PASSWORD) as web:
        cookie = web.cookies["tma_session"]
        assert web.get(linked.shop_link).content == b"what shop saw\n"  # the address works
    for path in refused:
        status, body = _raw_get(linked.url, path, cookie)
        assert status == 404, path
        assert ledger not in body and b" saw" not in body, path


def _raw_get(url: str, path: str, cookie: str) -> tuple[int, bytes]:
    """GET `path` exactly as written (httpx would remove dot segments first)."""
    where = urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Cookie": f"tma_session={cookie}"})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_a_base_url_with_a_path_keeps_it_in_the_link() -> None:
    # A proxy's prefix in web.base_url is kept whole in the note's link.
    link = apply_file_url("www", 7, EVIDENCE, "https://agency.example/tma/")
    assert link == f"https://agency.example/tma/sites/www/applies/7/files/{_escaped(EVIDENCE)}"
