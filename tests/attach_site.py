"""An apply whose visual checks make real images (headless Chromium on a page the local HTTP
server reads from the staging checkout), for the tests of files on tickets: the site of
tests/apply_site.py with the update playbook framed by `visual.check` before and after, and
its environments given the page server's URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apply_site import ApplySite

from tma_agent.testing.pages import Page, PageServer
from tma_agent.testing.sshd import SSHServer

__all__ = ["BASE_URL", "PAGE", "UPDATE", "AttachSite", "pages", "site_fixture"]

#: The dashboard's address in these configs (nothing listens: the links are only written).
BASE_URL = "https://tma.agency.example"
#: What the staging checkout's page shows before the update.
PAGE = (
    '<html><body style="margin:0"><div style="width:120px;height:80px;background:#c00">'
    "</div></body></html>\n"
)
#: After the update when the test wants the visual check to fail: the box moved far.
MOVED = PAGE.replace("width:120px", "margin-left:220px;width:120px")

#: The stack's install steps after a deploy, framed by visual checks of production's page.
INSTALL = """
    name: flatfile-install
    variables:
      marker: {required: true}
    steps:
      - visual.check: {phase: before, path: /look, width: 400, height: 300}
      - name: Install
        shell: [sh, -c, 'echo "$2" > "$1.$2"', sh, "{{ path }}", "{{ marker }}"]
      - visual.check: {phase: after, path: /look, width: 400, height: 300}
"""

UPDATE = """
    name: flatfile-update
    stacks: [flatfile]
    variables:
      version: {required: true}
    steps:
      - visual.check: {phase: before, path: /look, width: 400, height: 300}
      - git.branch: {}
      - name: Write the version
        shell: [sh, -c, 'printf "%s\\n" "$1" > VERSION.flatfile; @PAGE@', sh, "{{ version }}"]
      - visual.check: {phase: after, path: /look, width: 400, height: 300}
      - git.commit: {}
      - git.push: {}
    on_failure:
      - git.reset: {}
"""


class AttachSite(ApplySite):
    """`www` whose staging page is served at `{pages.url}/look` from staging/index.html."""

    def __init__(self, sshd: SSHServer, tmp_path: Path, pages: PageServer) -> None:
        self.pages = pages
        super().__init__(sshd, tmp_path)
        self.sh(
            'cd "$1" && printf "%s" "$2" > index.html && printf "%s" "$3" > moved.html',
            str(self.staging),
            PAGE,
            MOVED,
        )
        self.git(self.staging, "add", "index.html", "moved.html")
        self.git(self.staging, "commit", "-qm", "A page to look at")
        self.git(self.staging, "push", "-q", "origin", "main")
        pages.set("/look", Page(file=self.staging / "index.html"))
        self.update_playbook(move_the_box=False)
        self.playbook("flatfile-install", INSTALL)

    def update_playbook(self, *, move_the_box: bool) -> None:
        """The update; `move_the_box`: the step also changes the page (the check fails)."""
        change = "cp moved.html index.html" if move_the_box else "true"
        self.playbook("flatfile-update", UPDATE.replace("@PAGE@", change))

    def configure(self, tickets: dict[str, Any], **extra: Any) -> None:
        """The tickets block, the dashboard's base URL and the environments' page URL."""
        environments = {
            env: {**self._environment(path), "url": self.pages.url}
            for env, path in (("staging", self.staging), ("production", self.production))
        }
        site = {"id": "www", "client": "acme", "stack": "flatfile", "environments": environments}
        self.write(tickets=tickets, web={"base_url": BASE_URL}, sites=[site], **extra)

    def images(self, applied: dict[str, Any]) -> dict[str, bytes]:
        """The apply's attachments as the agent keeps them, by file name."""
        found = {}
        for attachment in applied["attachments"]:
            path = Path(attachment["path"])
            assert path.is_relative_to(self.tmp_path / "state" / "applies"), path
            found[path.name] = path.read_bytes()
        return found


@pytest.fixture(scope="module")
def pages() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


@pytest.fixture(name="site")
def site_fixture(sshd: SSHServer, tmp_path: Path, pages: PageServer) -> Iterator[AttachSite]:
    site = AttachSite(sshd, tmp_path, pages)
    try:
        yield site
    finally:
        site.close()
