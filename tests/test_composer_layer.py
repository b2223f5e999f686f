"""The shared Composer layer: lock/installed/manifest parsing (cross-checked against the real
`composer` CLI), Composer v2 repositories and Packagist advisories over a local feed server."""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from structlog.testing import capture_logs

from tma_agent.config import ComposerRepository, RepositoryAuth
from tma_agent.ecosystems import (
    ComposerManifest,
    ComposerRepositories,
    PackageRelease,
    PackagistAdvisories,
    affecting,
    expand_minified,
    parse_composer_json,
    parse_composer_lock,
    parse_installed_json,
)
from tma_agent.errors import FeedError, SiteTreeError
from tma_agent.models import Advisory
from tma_agent.run_scope import RunScope
from tma_agent.sources import Fetcher
from tma_agent.testing.composer_answers import (
    advisories_route,
    p2_metadata,
    packagist_advisory,
    path_repository_project,
    run_composer,
)
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
}


@pytest.fixture(scope="module")
def composer_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = path_repository_project(tmp_path_factory.mktemp("composer"), PACKAGES, PROJECT)
    run_composer(project, "update", "--no-progress")
    return project


def test_lock_written_by_composer_parses_like_composer_reads_it(composer_project: Path) -> None:
    manifest = parse_composer_json((composer_project / "composer.json").read_text(), "c.json")
    packages = parse_composer_lock(
        (composer_project / "composer.lock").read_text(), "composer.lock", manifest
    )
    by_name = {p.name: p for p in packages}
    # composer's own reading of the same lock: every package, then only direct, then no-dev.
    locked = json.loads(run_composer(composer_project, "show", "--locked", "--format=json"))
    assert {(p["name"], p["version"]) for p in locked["locked"]} == {
        (p.name, p.version) for p in packages
    }
    direct = json.loads(run_composer(composer_project, "show", "--direct", "--format=json"))
    assert {p["name"] for p in direct["installed"]} == {p.name for p in packages if p.direct}
    no_dev = json.loads(run_composer(composer_project, "show", "--no-dev", "--format=json"))
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


def test_manifest_repositories_and_packagist_switch(composer_project: Path) -> None:
    text = (composer_project / "composer.json").read_text()
    manifest = parse_composer_json(text, "composer.json")
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


# --- Composer v2 repositories -----------------------------------------------------------------
LIB_VERSIONS = [
    {
        "version": "2.0.0",
        "version_normalized": "2.0.0.0",
        "time": "2024-03-01T10:00:00+00:00",
        "require": {"php": ">=8.1", "acme/base": "^2.0"},
        "abandoned": "acme/next",
        "type": "library",
    },
    {
        "version": "1.2.0-p1",
        "version_normalized": "1.2.0.0-patch1",
        "time": "2023-06-01T10:00:00+00:00",
        "require": {"php": ">=7.4"},
        "type": "library",
    },
    {"version": "v1.0.0", "version_normalized": "1.0.0.0", "type": "library"},
]


def test_minified_metadata_is_expanded_with_unset(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    body = p2_metadata("acme/lib", LIB_VERSIONS)
    minified = json.loads(body)["packages"]["acme/lib"]
    # The fixture really is minified: later entries are diffs, removed keys say __unset.
    assert minified[1]["abandoned"] == "__unset" and "type" not in minified[1]
    assert minified[2]["time"] == "__unset" and minified[2]["require"] == "__unset"
    feed_server.routes["/p2/acme/lib.json"] = Reply(body)
    repositories = ComposerRepositories(fetcher, [ComposerRepository(url=feed_server.url)])
    releases = repositories.releases("acme/lib")
    assert releases == [
        PackageRelease(
            "2.0.0",
            "2.0.0.0",
            "2024-03-01T10:00:00+00:00",
            "acme/next",
            {"php": ">=8.1", "acme/base": "^2.0"},
        ),
        PackageRelease(
            "1.2.0-p1", "1.2.0.0-patch1", "2023-06-01T10:00:00+00:00", False, {"php": ">=7.4"}
        ),
        PackageRelease("v1.0.0", "1.0.0.0", None, False, {}),
    ]
    assert expand_minified(minified) == [{"name": "acme/lib", **v} for v in LIB_VERSIONS]
    assert feed_server.hits["/packages.json"] == 1  # asked once, 404: the default template


def test_unminified_metadata_and_unreadable_versions(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    versions = [{"version": "not a version"}, {"version": "1.0"}, {"version": "1.10"}]
    feed_server.routes["/p2/acme/plain.json"] = Reply(
        p2_metadata("acme/plain", versions, minified=False)
    )
    repositories = ComposerRepositories(fetcher, [ComposerRepository(url=feed_server.url)])
    found = repositories.lookup("Acme/Plain")  # names are case-insensitive
    assert found is not None and found.url == feed_server.url + "/p2/acme/plain.json"
    assert [(r.version, r.normalized) for r in found.releases] == [
        ("1.10", "1.10.0.0"),
        ("1.0", "1.0.0.0"),
    ]


def test_metadata_url_template_and_available_packages(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    feed_server.routes["/8/packages.json"] = Reply(
        json.dumps(
            {
                "packages": [],
                "metadata-url": "/8/files/%package%~meta.json",
                "available-packages": ["acme/lib"],
                "available-package-patterns": ["drupal/*"],
            }
        )
    )
    feed_server.routes["/8/files/acme/lib~meta.json"] = Reply(p2_metadata("acme/lib", LIB_VERSIONS))
    feed_server.routes["/8/files/drupal/token~meta.json"] = Reply(
        p2_metadata("drupal/token", [{"version": "1.13.0"}])
    )
    first = ComposerRepositories(fetcher, [ComposerRepository(url=feed_server.url + "/8")])
    again = ComposerRepositories(fetcher, [ComposerRepository(url=feed_server.url + "/8/")])
    assert [r.version for r in first.releases("acme/lib")] == ["2.0.0", "1.2.0-p1", "v1.0.0"]
    assert [r.version for r in again.releases("acme/lib")] == ["2.0.0", "1.2.0-p1", "v1.0.0"]
    assert [r.version for r in first.releases("drupal/token")] == ["1.13.0"]
    # Not in the repository's list: not even asked for.
    assert first.releases("other/pkg") == []
    assert feed_server.hits == Counter(
        {
            "/8/packages.json": 1,
            "/8/files/acme/lib~meta.json": 1,
            "/8/files/drupal/token~meta.json": 1,
        }
    )


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_repositories_in_order_with_their_own_credentials(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    # Two private repositories on one server: the first lacks acme/lib (404), the second has it.
    feed_server.routes["/second/p2/acme/lib.json"] = Reply(p2_metadata("acme/lib", LIB_VERSIONS))
    feed_server.routes["/first/p2/acme/only-first.json"] = Reply(
        p2_metadata("acme/only-first", [{"version": "3.0.0"}])
    )
    feed_server.routes["/second/p2/acme/only-first.json"] = Reply(
        p2_metadata("acme/only-first", [{"version": "9.9.9"}])
    )
    repositories = ComposerRepositories(
        fetcher,
        [
            ComposerRepository(
                url=feed_server.url + "/first",
                auth=RepositoryAuth(username="alice", password="first-S3CRET"),
            ),
            ComposerRepository(
                url=feed_server.url + "/second",
                auth=RepositoryAuth(username="bob", password="second-S3CRET"),
            ),
        ],
    )
    with capture_logs() as logs:
        found = repositories.lookup("acme/lib")
        first_wins = repositories.releases("acme/only-first")
    assert found is not None and found.url.endswith("/second/p2/acme/lib.json")
    assert [r.version for r in first_wins] == ["3.0.0"]
    auth = {r.path: r.headers.get("Authorization") for r in feed_server.requests}
    assert auth["/first/packages.json"] == _basic("alice", "first-S3CRET")
    assert auth["/first/p2/acme/lib.json"] == _basic("alice", "first-S3CRET")
    assert auth["/second/p2/acme/lib.json"] == _basic("bob", "second-S3CRET")
    assert "/second/p2/acme/only-first.json" not in auth
    assert "S3CRET" not in repr(logs) and logs  # the fetcher logged, never the credentials


def test_credentials_stay_on_the_repository_host(feed_server: FeedServer, fetcher: Fetcher) -> None:
    with FeedServer() as cdn:
        cdn.routes["/meta/acme/lib.json"] = Reply(p2_metadata("acme/lib", LIB_VERSIONS))
        feed_server.routes["/packages.json"] = Reply(
            json.dumps({"metadata-url": cdn.url + "/meta/%package%.json"})
        )
        auth = RepositoryAuth(username="alice", password="pw")
        repositories = ComposerRepositories(
            fetcher, [ComposerRepository(url=feed_server.url, auth=auth)]
        )
        assert len(repositories.releases("acme/lib")) == 3
        assert feed_server.requests[0].headers.get("Authorization") == _basic("alice", "pw")
        assert [r.headers.get("Authorization") for r in cdn.requests] == [None]


@pytest.mark.parametrize(
    ("path", "reply", "reason"),
    [
        ("/p2/acme/lib.json", Reply("<html>oops</html>"), "invalid JSON"),
        ("/p2/acme/lib.json", Reply('{"packages": "x"}'), "not Composer v2 metadata"),
        ("/p2/acme/lib.json", Reply('{"packages": {"acme/lib": {}}}'), "not a list of versions"),
        ("/p2/acme/lib.json", Reply('{"packages": {"acme/lib": [{"time": "x"}]}}'), "no version"),
        ("/p2/acme/lib.json", Reply("denied", status=401), "HTTP 401"),
        ("/packages.json", Reply("[1, 2]"), "not a Composer packages.json"),
        ("/packages.json", Reply('{"metadata-url": "/p2/x.json"}'), "metadata-url"),
        ("/packages.json", Reply('{"available-packages": "acme/lib"}'), "available-packages"),
    ],
)
def test_garbage_from_a_repository_is_a_feed_error_naming_the_url(
    feed_server: FeedServer, fetcher: Fetcher, path: str, reply: Reply, reason: str
) -> None:
    feed_server.routes[path] = reply
    repositories = ComposerRepositories(fetcher, [ComposerRepository(url=feed_server.url)])
    with pytest.raises(FeedError, match=reason) as caught:
        repositories.releases("acme/lib")
    assert caught.value.url == feed_server.url + path


def test_a_repository_without_the_package_in_its_answer_falls_through(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    feed_server.routes["/a/p2/acme/lib.json"] = Reply('{"packages": []}')
    feed_server.routes["/b/p2/acme/lib.json"] = Reply(p2_metadata("acme/lib", LIB_VERSIONS))
    repositories = ComposerRepositories(
        fetcher,
        [
            ComposerRepository(url=feed_server.url + "/a"),
            ComposerRepository(url=feed_server.url + "/b"),
        ],
    )
    assert len(repositories.releases("acme/lib")) == 3
    assert ComposerRepositories(fetcher, []).releases("acme/lib") == []


# --- Packagist security advisories ------------------------------------------------------------
MAGENTO_ADVISORIES = {
    "magento/product-community-edition": [
        packagist_advisory(
            "PKSA-aaaa-bbbb-cccc",
            "magento/product-community-edition",
            "=2.4.4|>=2.4.0,<2.4.3-p3",
            cve="CVE-2022-24086",
            severity="critical",
            title="Improper input validation",
        ),
        packagist_advisory(
            "PKSA-dddd-eeee-ffff", "magento/product-community-edition", ">=2.4.7,<2.4.7-p3"
        ),
        packagist_advisory(
            "PKSA-broken-0001", "magento/product-community-edition", "not a range ~~"
        ),
    ],
    "symfony/http-kernel": [
        packagist_advisory(
            "PKSA-sym1-0000-0001", "symfony/http-kernel", ">=1.0.0,<1.2.3|>=2.0.0,<2.0.1"
        )
    ],
}
ADVISORIES_PATH = "/api/security-advisories/"


def _asked(request: Request) -> list[str]:
    return [value for key, value in parse_qsl(request.body.decode()) if key == "packages[]"]


def test_advisories_asked_sorted_in_batches_once_per_run(
    feed_server: FeedServer, fetcher: Fetcher
) -> None:
    feed_server.routes[ADVISORIES_PATH] = advisories_route(MAGENTO_ADVISORIES)
    run = RunScope()
    site_one = PackagistAdvisories(fetcher, feed_server.url + "/", run=run, batch_size=2)
    names = ["symfony/http-kernel", "Magento/Product-Community-Edition", "a/a", "z/z", "a/a"]
    found = site_one.for_packages(names)
    assert sorted(found) == [
        "a/a",
        "magento/product-community-edition",
        "symfony/http-kernel",
        "z/z",
    ]
    assert found["a/a"] == [] and found["z/z"] == []
    assert [a.advisory_id for a in found["symfony/http-kernel"]] == ["PKSA-sym1-0000-0001"]
    assert [_asked(r) for r in feed_server.requests] == [
        ["a/a", "magento/product-community-edition"],
        ["symfony/http-kernel", "z/z"],
    ]
    assert all(r.method == "POST" and r.path == ADVISORIES_PATH for r in feed_server.requests)
    # Another site of the same run: only what nobody asked yet goes over the wire.
    site_two = PackagistAdvisories(fetcher, feed_server.url, run=run, batch_size=2)
    again = site_two.for_packages(["z/z", "symfony/http-kernel", "drupal/core"])
    assert again["symfony/http-kernel"] == found["symfony/http-kernel"]
    assert [_asked(r) for r in feed_server.requests[2:]] == [["drupal/core"]]
    assert site_two.for_packages([]) == {}
    assert feed_server.hits[ADVISORIES_PATH] == 3
    # The next run keeps nothing of this one: its scope asks again (the fetcher is per run too,
    # but this one still remembers the forms, so only a fresh scope is what is tested here).
    next_run = PackagistAdvisories(fetcher, feed_server.url, run=RunScope(), batch_size=5)
    assert next_run.for_packages(["a/a", "drupal/core"]) == {"a/a": [], "drupal/core": []}
    assert [_asked(r) for r in feed_server.requests[3:]] == [["a/a", "drupal/core"]]


def test_advisories_fields_and_matching(feed_server: FeedServer, fetcher: Fetcher) -> None:
    feed_server.routes[ADVISORIES_PATH] = advisories_route(MAGENTO_ADVISORIES)
    client = PackagistAdvisories(fetcher, feed_server.url, run=RunScope())
    advisories = client.for_packages(["magento/product-community-edition"])[
        "magento/product-community-edition"
    ]
    first = advisories[0]
    assert (first.package, first.cve, first.severity, first.source) == (
        "magento/product-community-edition",
        "CVE-2022-24086",
        "critical",
        "GitHub",
    )
    assert first.to_advisory() == Advisory(
        id="PKSA-aaaa-bbbb-cccc",
        cve="CVE-2022-24086",
        severity="critical",
        url="https://example.org/advisories/PKSA-aaaa-bbbb-cccc",
        title="Improper input validation",
    )
    with capture_logs() as logs:
        assert [a.id for a in affecting(advisories, "2.4.3-p2")] == ["PKSA-aaaa-bbbb-cccc"]
    assert any(e["event"] == "packagist: advisory constraint unreadable" for e in logs)
    assert [a.id for a in affecting(advisories, "2.4.4")] == ["PKSA-aaaa-bbbb-cccc"]
    assert [a.id for a in affecting(advisories, "2.4.7-p2")] == ["PKSA-dddd-eeee-ffff"]
    assert affecting(advisories, "2.4.7-p3") == []
    assert affecting(advisories, "2.4.3-p3") == []
    with capture_logs() as logs:
        assert affecting(advisories, "not-a-version") == []
    assert logs and logs[0]["event"] == "packagist: installed version unreadable"


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply("<html>maintenance</html>"), "invalid JSON"),
        (Reply('{"other": 1}'), "no advisories key"),
        (Reply('{"advisories": "none"}'), "not an object keyed by package"),
        (Reply('{"advisories": {"a/a": {"x": 1}}}'), "advisories of a/a is not a list"),
        (Reply('{"advisories": {"a/a": ["x"]}}'), "not an object"),
        (
            Reply('{"advisories": {"a/a": [{"advisoryId": "P1"}]}}'),
            "lacks advisoryId or affectedVersions",
        ),
        (Reply("busy", status=503), "HTTP 503"),
    ],
)
def test_garbage_advisories_are_feed_errors_naming_the_url(
    feed_server: FeedServer, fetcher: Fetcher, reply: Reply, reason: str
) -> None:
    feed_server.routes[ADVISORIES_PATH] = reply
    client = PackagistAdvisories(fetcher, feed_server.url, run=RunScope())
    with pytest.raises(FeedError, match=reason) as caught:
        client.for_packages(["a/a"])
    assert caught.value.url == feed_server.url + ADVISORIES_PATH
    # Nothing was remembered from the failed answer: the next ask fails the same way.
    with pytest.raises(FeedError, match=reason):
        client.for_packages(["a/a"])
