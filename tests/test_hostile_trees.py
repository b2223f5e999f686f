"""Site trees are hostile input: one bad file makes its component `unknown` with a reason naming
the file (or, for a lock that is the whole inventory, the site an `error`), never a traceback,
never unbounded memory. Real trees, `tma check --format json` through the real config loader,
over the local twin and the real sshd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tma_composer.testing.trees import build_symfony
from tma_drupal.testing.feeds import (
    drupal7_histories,
    drupal10_histories,
    release,
    serve_release_histories,
)
from tma_drupal.testing.trees import build_drupal7, build_drupal10
from tma_magento.testing.trees import build_magento
from tma_npm.testing.trees import build_npm_site
from tma_prestashop.testing.answers import serve_distribution_api
from tma_prestashop.testing.trees import build_prestashop
from tma_wordpress.testing.answers import serve_wordpress_api
from tma_wordpress.testing.feeds import serve_wordfence
from tma_wordpress.testing.trees import build_wordpress

from tma_agent.testing.cli import TMA
from tma_agent.testing.composer_answers import advisories_route
from tma_agent.testing.feeds import FeedServer
from tma_agent.testing.sshd import SSHServer

#: A 9-level "billion laughs" (under 1 KiB): its `version`, once turned into text, is 9**9
#: strings, the 3 GB the old parser took.
ALIAS_BOMB = (
    "name: Bomb\ntype: module\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "version: *i\n"
)
DEEP_JSON = "[" * 100_000 + "]" * 100_000
D10_FEEDS = drupal10_histories(
    {"pathauto": "8.x-1.12", "token": "8.x-1.13"}, core=[release("10.2.3")], core_branches="10.2."
)
D7_FEEDS = drupal7_histories()


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)


def build_hostile_trees(shared: Path) -> dict[str, Path]:
    """One site per stack, each with the bad files of issue 6 beside good components."""
    d10 = build_drupal10(shared / "d10", custom_modules=("agency_tweaks",))
    custom = d10.docroot / "modules/custom"
    _write(custom / "bomb/bomb.info.yml", ALIAS_BOMB)
    _write(custom / "deep/deep.info.yml", "name: Deep\nk: " + "[" * 5000 + "]" * 5000 + "\n")
    _write(custom / "huge/huge.info.yml", "name: Huge\ntype: module\n" + "# x\n" * 5_000_000)
    d7 = build_drupal7(shared / "d7")
    _write(d7.docroot / "sites/all/modules/big/big.info", "name = Big\n" + "; x\n" * 100_000)

    wp = build_wordpress(
        shared / "wp", plugins={"akismet": "5.0.2"}, themes={"twentytwentythree": "1.0"}
    )
    _write(wp / "wp-content/plugins/binplug/binplug.php", b"\x00\x01PK\x03\x04" * 100)
    _write(wp / "wp-content/themes/bintheme/style.css", b"\x89PNG\r\n\x1a\n\x00\x00")

    prestashop = build_prestashop(
        shared / "ps",
        dynamic_version=["ps_facetedsearch"],
        config_xml={"ps_facetedsearch": "<module><version>3.14.1</version>" + "<x>" * 50_000},
    )
    magento = build_magento(shared / "magento-deep").root
    (magento / "composer.lock").write_text('{"packages": ' + DEEP_JSON + "}")
    lock_deep = build_symfony(shared / "composer-deep")
    (lock_deep / "composer.lock").write_text('{"packages": ' + DEEP_JSON + "}")
    d10_bad_lock = build_drupal10(shared / "d10-bad-lock").project_root
    (d10_bad_lock / "composer.lock").write_text('{"packages": [{"name": "drupal/core",')
    npm_deep = build_npm_site(shared / "npm-deep", dependencies={"react": ("^18.2.0", "18.2.0")})
    (npm_deep / "package-lock.json").write_text(DEEP_JSON)
    npm_bad_manifest = build_npm_site(shared / "npm-bad-manifest")
    (npm_bad_manifest / "package.json").write_text('{"dependencies": ' * 50_000)
    return {
        "d10": d10.project_root,
        "d7": d7.project_root,
        "wp": wp,
        "ps": prestashop,
        "magento-deep": magento,
        "composer-deep": lock_deep,
        "d10-bad-lock": d10_bad_lock,
        "npm-deep": npm_deep,
        "npm-bad-manifest": npm_bad_manifest,
    }


@dataclass
class Run:
    sites: dict[str, dict[str, Any]]
    stderr: str
    #: Peak resident memory of `tma check`, in KiB.
    max_rss_kib: int


def _run_check(config: Path) -> Run:
    # The wrapper reports its waited child's peak RSS: the memory `tma check` really used.
    wrapper = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stdout.write(r.stdout); sys.stderr.write(r.stderr)\n"
        "sys.stderr.write('\\nMAXRSS %d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TMA_CONFIG"}
    argv = [*TMA, "--config", str(config), "check", "--format", "json"]
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *argv], capture_output=True, text=True, env=env, timeout=300
    )
    document = json.loads(done.stdout)
    stderr, _, rss = done.stderr.rpartition("MAXRSS ")
    return Run({s["site"]: s for s in document["sites"]}, stderr, int(rss))


@pytest.fixture(scope="module")
def hostile_run(sshd: SSHServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp_path = tmp_path_factory.mktemp("hostile")
    trees = build_hostile_trees(sshd.make_shared_dir())
    ssh = {
        "key_file": str(sshd.client_key_path),
        "known_hosts": str(sshd.known_hosts_path),
        "use_agent": False,
        "connect_timeout": 5,
    }
    environments: dict[str, dict[str, Any]] = {}
    for name, path in trees.items():
        environments[f"{name}-local"] = {"host": "local", "path": str(path)}
        environments[f"{name}-ssh"] = {
            "host": f"ssh://{sshd.user}@127.0.0.1:{sshd.port}",
            "path": str(path),
        }
    with FeedServer() as server:
        drupal_base = serve_release_histories(server, D10_FEEDS)
        serve_release_histories(server, D7_FEEDS, api="7.x")
        serve_wordpress_api(
            server,
            core_releases=["6.1.9"],
            plugins={"akismet": "5.0.2"},
            themes={"twentytwentythree": "1.0"},
        )
        config = {
            "state_dir": str(tmp_path / "state"),
            "ssh": ssh,
            "sources": {
                "drupal": {"url": drupal_base},
                "packagist": {"url": server.url},
                "wordpress": {"url": server.url},
                "wordfence": {"url": serve_wordfence(server, [])},
                "prestashop": {"url": serve_distribution_api(server, ["8.1.7"])},
            },
            "clients": [{"id": "acme", "name": "ACME"}],
            "sites": [
                {"id": name, "client": "acme", "environments": {"production": env}}
                for name, env in environments.items()
            ],
        }
        server.routes["/api/security-advisories/"] = advisories_route({})
        path = tmp_path / "tma.yaml"
        path.write_text(json.dumps(config, indent=1))  # JSON is YAML: the real loader reads it
        yield _run_check(path)


def _components(site: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in site["components"]}


TWINS = ("local", "ssh")


@pytest.mark.parametrize("twin", TWINS)
def test_drupal_bad_info_files_are_unknown_components_with_the_reason(
    hostile_run: Run, twin: str
) -> None:
    site = hostile_run.sites[f"d10-{twin}"]
    assert site["status"] in ("ok", "updates"), site["error"]
    found = _components(site)
    assert found["pathauto"]["update"] == "none" and found["pathauto"]["reason"] is None
    assert found["token"]["update"] == "none"
    assert found["agency_tweaks"]["reason"] is None
    reasons = {name: found[name]["reason"] for name in ("bomb", "deep", "huge")}
    assert all(found[name]["update"] == "unknown" for name in reasons)
    assert reasons["bomb"] == (
        "web/modules/custom/bomb/bomb.info.yml: "
        "YAML anchors and aliases are not allowed in an info file"
    )
    assert reasons["deep"].startswith("web/modules/custom/deep/deep.info.yml: nested deeper")
    assert reasons["huge"].startswith("web/modules/custom/huge/huge.info.yml: ")
    assert all("\n" not in reason for reason in reasons.values())


@pytest.mark.parametrize("twin", TWINS)
def test_drupal7_oversized_info_file_is_an_unknown_module(hostile_run: Run, twin: str) -> None:
    site = hostile_run.sites[f"d7-{twin}"]
    assert site["status"] in ("ok", "updates"), site["error"]
    found = _components(site)
    assert found["views"]["update"] == "none"
    assert found["big"]["update"] == "unknown"
    assert found["big"]["reason"].startswith("sites/all/modules/big/big.info: ")


@pytest.mark.parametrize("twin", TWINS)
def test_wordpress_binary_plugin_and_theme_files_are_unknown_by_slug(
    hostile_run: Run, twin: str
) -> None:
    site = hostile_run.sites[f"wp-{twin}"]
    assert site["status"] in ("ok", "updates"), site["error"]
    found = _components(site)
    assert found["akismet"]["update"] == "none"
    assert found["twentytwentythree"]["update"] == "none"
    assert (found["binplug"]["kind"], found["binplug"]["update"]) == ("plugin", "unknown")
    assert found["binplug"]["reason"] == (
        "wp-content/plugins/binplug/binplug.php: binary data where the file header should be"
    )
    assert (found["bintheme"]["kind"], found["bintheme"]["update"]) == ("theme", "unknown")
    assert found["bintheme"]["reason"].startswith("wp-content/themes/bintheme/style.css: ")


@pytest.mark.parametrize("twin", TWINS)
def test_prestashop_module_whose_only_version_source_is_a_bad_config_xml_is_unknown(
    hostile_run: Run, twin: str
) -> None:
    site = hostile_run.sites[f"ps-{twin}"]
    assert site["status"] in ("ok", "updates"), site["error"]
    found = _components(site)
    assert found["prestashop"]["installed"] == "8.1.7"
    assert found["ps_emailsubscription"]["reason"] is None
    assert found["ps_facetedsearch"]["update"] == "unknown"
    assert found["ps_facetedsearch"]["reason"].startswith(
        "modules/ps_facetedsearch/config.xml: invalid XML"
    )


@pytest.mark.parametrize(
    ("site", "file", "reason"),
    [
        ("composer-deep", "composer.lock", "nested too deeply"),
        ("magento-deep", "composer.lock", "nested too deeply"),
        ("d10-bad-lock", "composer.lock", "invalid JSON"),
        ("npm-deep", "package-lock.json", "nested too deeply"),
        ("npm-bad-manifest", "package.json", "nested too deeply"),
    ],
)
@pytest.mark.parametrize("twin", TWINS)
def test_a_bad_lock_or_manifest_is_the_site_error_naming_the_file(
    hostile_run: Run, twin: str, site: str, file: str, reason: str
) -> None:
    report = hostile_run.sites[f"{site}-{twin}"]
    assert report["status"] == "error"
    assert report["components"] == []
    assert f"/{site}/{file}: {reason}" in report["error"]
    assert "internal error" not in report["error"] and "\n" not in report["error"]


def test_alias_bomb_parses_under_a_small_address_space_limit() -> None:
    # The old parser ran out of a 1 GB address space after 20 s on this file.
    probe = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (384 << 20, 384 << 20))\n"
        "from tma_drupal.infofiles import parse_info_file\n"
        "info = parse_info_file('modules/custom/bomb/bomb.info.yml', sys.stdin.read(), drupal7=False)\n"
        "print(info.error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], input=ALIAS_BOMB, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "YAML anchors and aliases are not allowed in an info file"


def test_no_traceback_and_bounded_memory(hostile_run: Run) -> None:
    assert "Traceback" not in hostile_run.stderr
    assert "RecursionError" not in hostile_run.stderr
    # The bomb alone expanded to 3 GB before; the whole hostile fleet now fits well under that.
    assert hostile_run.max_rss_kib < 400 * 1024, hostile_run.max_rss_kib


def test_files_the_ssh_user_cannot_read_are_unknown_components_not_dropped(
    sshd: SSHServer, tmp_path: Path
) -> None:
    shared = sshd.make_shared_dir()
    d10 = build_drupal10(shared / "d10-secret", custom_modules=("agency_tweaks", "secret"))
    secret = d10.docroot / "modules/custom/secret/secret.info.yml"
    wp = build_wordpress(
        shared / "wp-secret", plugins={"akismet": "5.0.2", "contact-form-7": "5.9"}
    )
    locked = wp / "wp-content/plugins/contact-form-7/contact-form-7.php"
    for path in (secret, locked):
        os.chown(path, 0, 0)
        path.chmod(0o600)  # root's: the unprivileged `tma-test` login cannot read it
    outside = shared / "outside"
    (outside / "evil").mkdir(parents=True)
    (outside / "evil/evil.php").write_text("<?php\n/* Plugin Name: Evil\nVersion: 1.0 */\n")
    (wp / "wp-content/plugins/evil").symlink_to(outside / "evil")
    (d10.docroot / "modules/contrib/leaky").symlink_to(outside)
    with FeedServer() as server:
        serve_wordpress_api(server, core_releases=["6.1.9"], plugins={"akismet": "5.0.2"})
        server.routes["/api/security-advisories/"] = advisories_route({})
        config = {
            "state_dir": str(tmp_path / "state"),
            "ssh": {
                "key_file": str(sshd.client_key_path),
                "known_hosts": str(sshd.known_hosts_path),
                "use_agent": False,
            },
            "sources": {
                "drupal": {"url": serve_release_histories(server, D10_FEEDS)},
                "packagist": {"url": server.url},
                "wordpress": {"url": server.url},
                "wordfence": {"url": serve_wordfence(server, [])},
            },
            "clients": [{"id": "acme", "name": "ACME"}],
            "sites": [
                {
                    "id": name,
                    "client": "acme",
                    "environments": {
                        "production": {
                            "host": f"ssh://{sshd.user}@127.0.0.1:{sshd.port}",
                            "path": str(path),
                        }
                    },
                }
                for name, path in (("d10", d10.project_root), ("wp", wp))
            ],
        }
        path = tmp_path / "tma.yaml"
        path.write_text(json.dumps(config))
        run = _run_check(path)
    drupal, wordpress = _components(run.sites["d10"]), _components(run.sites["wp"])
    assert drupal["pathauto"]["update"] == "none"
    assert drupal["secret"]["update"] == "unknown"
    assert drupal["secret"]["reason"].startswith("web/modules/custom/secret/secret.info.yml: ")
    assert wordpress["akismet"]["update"] == "none"
    assert wordpress["evil"]["reason"] == "wp-content/plugins/evil: symlink leaving the site tree"
    assert drupal["leaky"]["reason"] == "web/modules/contrib/leaky: symlink leaving the site tree"
    assert wordpress["contact-form-7"]["update"] == "unknown"
    assert wordpress["contact-form-7"]["reason"].startswith(
        "wp-content/plugins/contact-form-7/contact-form-7.php: "
    )
