"""The offline demo fleet: real-layout site trees on local hosts, feed answers served on
127.0.0.1 in the real upstream formats, and `tma check` run against them.

Run through `scripts/demo` (which installs the venv first). Arguments go to `tma check`
(e.g. `--format json`, `--site acme-www`); as with `tma check`, the output is a table on a
terminal and JSON when piped. The feed servers live only as long as the demo, so what it prints
about rerunning names `scripts/demo`, never a bare `tma` command that would find them gone.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from demo_stacks import build_more_sites, serve_more_feeds
from tma_drupal.testing.feeds import release, release_history_xml, serve_release_histories
from tma_drupal.testing.trees import build_drupal7, build_drupal10
from tma_wordpress.testing.answers import serve_wordpress_api
from tma_wordpress.testing.feeds import (
    serve_wordfence,
    wordfence_range,
    wordfence_record,
    wordfence_software,
)
from tma_wordpress.testing.trees import build_wordpress

from tma_agent.testing.composer_trees import advisory, serve_advisories_api
from tma_agent.testing.feeds import FeedServer

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / ".demo"

D10_FEEDS = {
    "drupal": release_history_xml(
        "drupal",
        type="project_core",
        supported_branches="10.3.,10.4.,11.1.",
        releases=[
            release("11.1.1", "Bug fixes"),
            release("11.1.0", "New features"),
            release("10.4.1", "Security update", "Bug fixes"),
            release("10.4.0", "New features"),
            release("10.3.11", "Security update"),
            release("10.3.10", "Bug fixes"),
            release("10.2.3", "Bug fixes"),
        ],
    ),
    "pathauto": release_history_xml(
        "pathauto",
        supported_branches="8.x-1.",
        releases=[release("8.x-1.13", "Security update"), release("8.x-1.12", "Bug fixes")],
    ),
    "token": release_history_xml(
        "token",
        supported_branches="8.x-1.",
        releases=[release("8.x-1.15", "Bug fixes"), release("8.x-1.13", "Bug fixes")],
    ),
    "webform": release_history_xml(
        "webform",
        supported_branches="6.2.",
        releases=[release("6.2.9", "New features"), release("6.2.8", "Bug fixes")],
    ),
    "gin": release_history_xml(
        "gin",
        type="project_theme",
        supported_branches="8.x-3.",
        releases=[release("8.x-3.0", "Bug fixes")],
    ),
}
D7_FEEDS = {
    "drupal": release_history_xml(
        "drupal",
        type="project_core",
        api_version="7.x",
        supported_branches="7.",
        releases=[release("7.103", "Bug fixes"), release("7.98", "Bug fixes")],
    ),
    "views": release_history_xml(
        "views",
        api_version="7.x",
        supported_branches="7.x-3.",
        releases=[release("7.x-3.30", "Bug fixes"), release("7.x-3.29", "Bug fixes")],
    ),
    "ctools": release_history_xml(
        "ctools",
        api_version="7.x",
        supported_branches="7.x-1.",
        project_status="unsupported",
        releases=[release("7.x-1.21", "Bug fixes")],
    ),
}


def build_fleet(sites: Path) -> None:
    build_drupal10(
        sites / "acme-www",
        core="10.3.10",
        modules={"pathauto": "8.x-1.12", "token": "8.x-1.13", "webform": "6.2.8"},
        themes={"gin": "8.x-3.0"},
    )
    build_drupal7(sites / "acme-legacy")
    build_wordpress(
        sites / "blog",
        core="6.1.9",
        plugins={
            "akismet": "5.0.2",
            "hello.php": "1.7.2",
            "contact-form-7/wp-contact-form-7.php": "5.9.8",
            "agency-sso": "2.1.0",
        },
        update_uri={"agency-sso": "https://git.agency.example/agency-sso"},
        themes={"twentytwentythree": "1.0", "twentytwentytwo": "1.9"},
        mu_plugins={"agency-hardening": None},
    )


PACKAGIST_ADVISORIES = {
    "magento/product-community-edition": [
        advisory(
            "PKSA-demo-0002",
            "magento/product-community-edition",
            ">=2.4.7,<2.4.7-p4",
            title="Adobe Commerce - demo XML external entity injection",
            cve="CVE-2099-0004",
            severity="critical",
        )
    ],
    "drupal/webform": [
        advisory(
            "PKSA-demo-0001",
            "drupal/webform",
            ">=6.2.0,<6.2.9",
            title="Webform - Demo access bypass",
            cve="CVE-2099-0002",
            severity="high",
            link="https://www.drupal.org/sa-contrib-2099-001",
        )
    ],
}

WORDFENCE_RECORDS = [
    wordfence_record(
        "demo-0001",
        "Contact Form 7 <= 5.9.8 - Demo Reflected Cross-Site Scripting",
        [
            wordfence_software(
                "contact-form-7",
                [wordfence_range("*", "5.9.8")],
                patched_versions=["6.0"],
            )
        ],
        cve="CVE-2099-0001",
        score=6.1,
        rating="Medium",
    )
]


#: `scripts/demo serve`: the dashboard's demo accounts (printed when it starts).
DEMO_ACCOUNTS = {
    "agency": ("demo-agency-password", None),
    "acme-cto": ("demo-acme-password", "acme"),
}


def _web_block() -> str:
    import secrets

    from tma_agent.web.auth import hash_password

    users = [
        {
            "name": name,
            "password_hash": hash_password(password),
            "role": "client" if client else "staff",
        }
        | ({"client": client} if client else {})
        for name, (password, client) in DEMO_ACCOUNTS.items()
    ]
    return f"web: {json.dumps({'secret_key': secrets.token_urlsafe(32), 'users': users})}\n"


def write_config(
    path: Path,
    sites: Path,
    feeds: str,
    wordfence: str,
    more_sources: dict[str, object],
    *,
    web: bool = False,
) -> None:
    more = "".join(f"  {name}: {json.dumps(value)}\n" for name, value in more_sources.items())
    path.write_text(
        (_web_block() if web else "")
        + f"""\
# Generated by scripts/demo.py: the demo fleet, with every source served on 127.0.0.1.
state_dir: {DEMO / "state"}
ssh: {{known_hosts: {DEMO / "known_hosts"}, connect_timeout: 3}}
sources:
  drupal: {{url: {feeds}/release-history}}
  wordpress: {{url: {feeds}}}
  wordfence: {{url: {wordfence}}}
  packagist: {{url: {feeds}}}
{more}clients:
  - {{id: acme, name: ACME SA, contract: {{days: 10, hours_per_day: 7, period: monthly}}}}
  - id: bloggers
    name: Bloggers SARL
    contract: {{days: 2}}
    policies: {{allow: [security, patch]}}   # no feature updates without a request
sites:
  - id: acme-www
    client: acme
    stack: drupal
    environments:
      production: {{host: local, path: {sites / "acme-www"}, url: https://acme.example}}
  - id: acme-legacy
    client: acme
    policies:
      ignore: [{{component: views, reason: "patched locally, see ticket 1234", until: 2099-12-31}}]
    environments:
      production: {{host: local, path: {sites / "acme-legacy"}}}
  - id: blog
    client: bloggers
    environments:
      production: {{host: local, path: {sites / "blog"}}}
  - id: acme-shop
    client: acme
    environments:
      # Nothing listens here: the site is reported unreachable and the run goes on.
      production: {{host: "ssh://deploy@127.0.0.1:9", path: /var/www/shop}}
  - id: acme-store
    client: acme
    environments: {{production: {{host: local, path: {sites / "acme-store"}}}}}
  - id: boutique
    client: bloggers
    environments: {{production: {{host: local, path: {sites / "boutique"}}}}}
  - id: acme-api
    client: acme
    environments: {{production: {{host: local, path: {sites / "acme-api"}}}}}
  - id: acme-spa
    client: acme
    environments: {{production: {{host: local, path: {sites / "acme-spa"}}}}}
"""
    )


#: What the demo runs: `tma check` (the default), or `tma run` then `tma requests list` on the
#: `ledger` ticket backend when the first argument is `run`.
#: `serve` runs `tma run` (the ledger backend), then `tma serve` on that ledger until Ctrl-C.
COMMANDS = ("check", "run", "serve")


def _fresh_demo_dir() -> None:
    """A new fleet each time; the state (the ledger of `tma run`) is kept, so a second
    `scripts/demo run` shows requests updated or unchanged, never opened twice."""
    if not DEMO.exists():
        return
    for entry in DEMO.iterdir():
        if entry.name != "state":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def main(argv: list[str]) -> int:
    verb = argv.pop(0) if argv and argv[0] in COMMANDS else "check"
    _fresh_demo_dir()
    sites = DEMO / "sites"
    build_fleet(sites)
    build_more_sites(sites)
    (DEMO / "known_hosts").write_text("")
    with FeedServer() as server:
        serve_release_histories(server, D10_FEEDS)
        serve_release_histories(server, {k: v for k, v in D7_FEEDS.items()}, api="7.x")
        serve_wordpress_api(
            server,
            core_releases=["6.7.1", "6.6.2", "6.1.10", "6.1.9"],
            plugins={"akismet": "5.3.5", "hello": "1.7.2", "contact-form-7": "6.0.1"},
            themes={"twentytwentythree": "1.6", "twentytwentytwo": "1.9"},
        )
        serve_advisories_api(server, PACKAGIST_ADVISORIES)
        wordfence = serve_wordfence(server, WORDFENCE_RECORDS)
        more_sources = serve_more_feeds(server, DEMO)
        config = DEMO / "tma.yaml"
        write_config(config, sites, server.url, wordfence, more_sources, web=verb == "serve")
        tma = Path(sys.executable).with_name("tma")
        if verb == "serve":
            return _serve(tma, config, argv)
        command = [str(tma), "--config", str(config), verb, *argv]
        shown = shlex.join(["tma", verb, *argv])
        print(f"demo: {shown}  (demo fleet in {DEMO.relative_to(ROOT)}/)", file=sys.stderr)
        code = subprocess.run(command, env=os.environ.copy()).returncode  # noqa: S603 - our own tma
        if verb == "run" and "--dry-run" not in argv and sys.stdout.isatty():
            print("demo: tma requests list", file=sys.stderr)
            listing = [str(tma), "--config", str(config), "requests", "list"]
            subprocess.run(listing, env=os.environ.copy(), check=False)  # noqa: S603
    if verb == "check":
        print("demo: scripts/demo run shows `tma run` on the ledger backend", file=sys.stderr)
    print(
        "demo: its feed servers stopped with it; rerun with other `tma check` options through"
        " the demo, e.g. scripts/demo --site acme-www --format json",
        file=sys.stderr,
    )
    return code


def _serve(tma: Path, config: Path, argv: list[str]) -> int:
    """`tma run` fills the demo ledger, then the dashboard serves it (Ctrl-C stops both)."""
    head = [str(tma), "--config", str(config)]
    run = subprocess.run([*head, "run", "--format", "json"], stdout=subprocess.DEVNULL, check=False)  # noqa: S603
    print(
        f"demo: tma run exited {run.returncode}; the dashboard serves its ledger", file=sys.stderr
    )
    for name, (password, client) in DEMO_ACCOUNTS.items():
        role = f"client {client}" if client else "staff"
        print(f"demo: log in as {name} / {password} ({role})", file=sys.stderr)
    try:
        return subprocess.run([*head, "serve", *argv], check=False).returncode  # noqa: S603
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
