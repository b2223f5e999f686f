"""The shared Composer layer: lock/installed/manifest parsing (cross-checked against the real
`composer` CLI), Composer v2 repositories and Packagist advisories over a local feed server."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tma_agent.ecosystems import (
    ComposerManifest,
    parse_composer_json,
    parse_composer_lock,
    parse_installed_json,
)
from tma_agent.errors import SiteTreeError
from tma_agent.sources import Fetcher
from tma_agent.testing.feeds import FeedServer, Reply, Request

# --- a real Composer project built offline ----------------------------------------------------
PACKAGES = {
    "acme/lib-a": {"version": "1.2.3", "require": {"acme/lib-b": "^2.4"}},
    "acme/lib-b": {"version": "2.4.7-p1", "type": "magento2-module", "abandoned": "acme/lib-z"},
    "acme/tool-c": {"version": "v0.3.0"},
    "acme/theme-d": {"version": "3.0.0-beta2", "type": "drupal-theme", "abandoned": True},
}
PROJECT = {
    "name": "acme/site",
    "require": {"php": ">=8.1", "acme/lib-a": "^1.2", "acme/theme-d": "^3.0@beta"},
    "require-dev": {"acme/tool-c": "~0.3"},
    "repositories": [
        {"type": "path", "url": "../pkgs/*", "options": {"symlink": False}},
        {"packagist.org": False},
    ],
}


def composer(project: Path, *args: str) -> str:
    """Run the real composer CLI with no network and a private home, cache and config."""
    env = {
        **os.environ,
        "COMPOSER_HOME": str(project.parent / "composer-home"),
        "COMPOSER_CACHE_DIR": str(project.parent / "composer-cache"),
        "COMPOSER_DISABLE_NETWORK": "1",
        "COMPOSER_NO_AUDIT": "1",
    }
    done = subprocess.run(
        ["composer", *args, "--no-interaction", "--no-ansi"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def composer_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("composer")
    for name, manifest in PACKAGES.items():
        package_dir = root / "pkgs" / name.split("/")[1]
        package_dir.mkdir(parents=True)
        (package_dir / "composer.json").write_text(json.dumps({"name": name, **manifest}))
    project = root / "site"
    project.mkdir()
    (project / "composer.json").write_text(json.dumps(PROJECT))
    composer(project, "update", "--no-progress")
    return project


def test_lock_written_by_composer_parses_like_composer_reads_it(composer_project: Path) -> None:
    manifest = parse_composer_json((composer_project / "composer.json").read_text(), "c.json")
    packages = parse_composer_lock(
        (composer_project / "composer.lock").read_text(), "composer.lock", manifest
    )
    by_name = {p.name: p for p in packages}
    # composer's own reading of the same lock: every package, then only direct, then no-dev.
    locked = json.loads(composer(composer_project, "show", "--locked", "--format=json"))
    assert {(p["name"], p["version"]) for p in locked["locked"]} == {
        (p.name, p.version) for p in packages
    }
    direct = json.loads(composer(composer_project, "show", "--direct", "--format=json"))
    assert {p["name"] for p in direct["installed"]} == {p.name for p in packages if p.direct}
    no_dev = json.loads(composer(composer_project, "show", "--no-dev", "--format=json"))
    assert {p["name"] for p in no_dev["installed"]} == {p.name for p in packages if not p.dev}
    assert by_name["acme/lib-b"].abandoned == "acme/lib-z"
    assert by_name["acme/theme-d"].abandoned is True
    assert by_name["acme/lib-a"].abandoned is False
    assert by_name["acme/lib-b"].type == "magento2-module"
    assert by_name["acme/lib-a"].type == "library"
    assert by_name["acme/theme-d"].constraint == "^3.0@beta"
    assert by_name["acme/lib-b"].constraint is None and not by_name["acme/lib-b"].direct
    assert by_name["acme/tool-c"].dev and by_name["acme/tool-c"].version == "v0.3.0"


def test_installed_json_written_by_composer(composer_project: Path) -> None:
    text = (composer_project / "vendor/composer/installed.json").read_text()
    manifest = parse_composer_json((composer_project / "composer.json").read_text(), "c.json")
    packages = {p.name: p for p in parse_installed_json(text, "installed.json", manifest)}
    assert set(packages) == set(PACKAGES)
    assert packages["acme/tool-c"].dev and not packages["acme/lib-a"].dev
    assert packages["acme/lib-b"].version_normalized == "2.4.7.0-patch1"
    assert packages["acme/lib-a"].direct and packages["acme/lib-a"].constraint == "^1.2"


def test_composer_one_installed_json_is_a_bare_list() -> None:
    text = json.dumps(
        [
            {"name": "drupal/token", "version": "1.9.0", "type": "drupal-module"},
            {"name": "symfony/yaml", "version": "v4.4.45", "extra": {"x": 1}},
        ]
    )
    packages = parse_installed_json(text, "vendor/composer/installed.json")
    assert [(p.name, p.version, p.type, p.dev, p.direct) for p in packages] == [
        ("drupal/token", "1.9.0", "drupal-module", False, False),
        ("symfony/yaml", "v4.4.45", "library", False, False),
    ]
    assert packages[1].extra == {"x": 1}


def test_manifest_repositories_and_packagist_switch() -> None:
    manifest = parse_composer_json(json.dumps(PROJECT), "composer.json")
    assert manifest.packagist_disabled
    assert [(r.type, r.url) for r in manifest.repositories] == [("path", "../pkgs/*")]
    assert manifest.repositories[0].options == {"options": {"symlink": False}}
    assert manifest.require["php"] == ">=8.1"
    keyed = parse_composer_json(
        json.dumps(
            {
                "require": [],
                "repositories": {
                    "drupal": {"type": "composer", "url": "https://packages.drupal.org/8"},
                    "packagist.org": False,
                },
            }
        ),
        "composer.json",
    )
    assert keyed == ComposerManifest(
        require={},
        require_dev={},
        repositories=keyed.repositories,
        packagist_disabled=True,
    )
    assert [(r.type, r.url) for r in keyed.repositories] == [
        ("composer", "https://packages.drupal.org/8")
    ]


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_composer_lock, "{not json", "invalid JSON"),
        (parse_composer_lock, "[]", "not a composer.lock"),
        (parse_composer_lock, '{"packages": [{"name": "a/b"}]}', r"packages\[0\] has no name"),
        (parse_composer_lock, '{"packages": [], "packages-dev": 3}', "packages-dev is not"),
        (parse_composer_lock, '{"packages": ["a/b"]}', r"packages\[0\] is not an object"),
        (parse_installed_json, '{"packages": {}}', "not an installed.json"),
        (parse_installed_json, '{"packages": [], "dev-package-names": [1]}', "dev-package-names"),
        (parse_installed_json, "\xff", "invalid JSON"),
        (parse_composer_json, '"text"', "not a composer.json"),
        (parse_composer_json, '{"require": {"a/b": 1}}', "require is not"),
        (parse_composer_json, '{"repositories": [{"url": "x"}]}', "has no type"),
        (parse_composer_json, '{"repositories": "x"}', "neither a list nor an object"),
    ],
)
def test_malformed_files_name_the_file(parse: Any, text: str, message: str) -> None:
    with pytest.raises(SiteTreeError, match=message) as caught:
        parse(text, "web1:/var/www/site/the-file.json")
    assert str(caught.value).startswith("web1:/var/www/site/the-file.json: ")


def test_package_names_match_the_manifest_whatever_their_case() -> None:
    # Composer 1 accepted upper-case names in composer.json; the lock writes them lower-case.
    manifest = parse_composer_json('{"require": {"Drupal/Token": "^1.9"}}', "composer.json")
    lock = '{"packages": [{"name": "drupal/token", "version": "1.9.0"}], "packages-dev": null}'
    (token,) = parse_composer_lock(lock, "composer.lock", manifest)
    assert token.direct and token.constraint == "^1.9" and not token.dev


# --- the fetcher's forms with repeated keys ---------------------------------------------------
def _echo(request: Request) -> Reply:
    return Reply(json.dumps({"query": request.query, "body": request.body.decode()}))


def test_forms_and_queries_may_repeat_a_key(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.routes["/echo"] = _echo
    url = feed_server.url + "/echo"
    pairs = [("packages[]", "b/b"), ("packages[]", "a/a"), ("x", "1"), ("packages[]", "c/c")]
    sent = fetcher.post_form(url, pairs).json()
    assert parse_qsl(sent["body"]) == pairs  # every value, in the order given
    assert fetcher.post_form(url, list(pairs)).json() == sent
    assert feed_server.hits["/echo"] == 1  # the same pairs are the same request
    fetcher.post_form(url, pairs[:2])
    assert feed_server.hits["/echo"] == 2
    asked = fetcher.get(url, params=[("v[]", "1"), ("v[]", "2")]).json()
    assert parse_qsl(asked["query"]) == [("v[]", "1"), ("v[]", "2")]
    # A mapping is still one value per key, its order irrelevant to the memo.
    assert parse_qsl(fetcher.post_form(url, {"b": "2", "a": "1"}).json()["body"]) == [
        ("b", "2"),
        ("a", "1"),
    ]
    fetcher.post_form(url, {"a": "1", "b": "2"})
    assert feed_server.hits["/echo"] == 4
