"""WordPress stack: real trees (Debian's `wordpress` package and built ones), a local HTTP
server speaking api.wordpress.org's formats, the real runner and plugin manager."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pluggy
import pytest
from tma_wordpress.detect import detect_wordpress
from tma_wordpress.evaluate import is_wordpress_org_update_uri, numbered_update_kind
from tma_wordpress.headers import PLUGIN_HEADERS, THEME_HEADERS, read_file_headers
from tma_wordpress.inventory import DEBIAN_CONTENT_DIR
from tma_wordpress.testing.answers import (
    CORE_VERSION_CHECK_PATH,
    PLUGINS_UPDATE_CHECK_PATH,
    THEMES_UPDATE_CHECK_PATH,
    core_version_check_answer,
    serve_wordpress_api,
)
from tma_wordpress.testing.trees import build_wordpress, copy_debian_wordpress

from tma_agent.hosts import LocalHost
from tma_agent.models import Component, Finding, SiteReport
from tma_agent.plugins import get_plugin_manager, registered_sources, registered_stacks
from tma_agent.sources import Fetcher
from tma_agent.testing.feeds import FeedServer, Reply
from tma_agent.testing.sites import check_path, site_context

CORE_RELEASES = ["6.7.1", "6.6.2", "6.1.9"]
PLUGIN_LATEST = {"akismet": "5.3.5", "hello": "1.7.2", "classic-editor": "1.6.7"}
THEME_LATEST = {"twentytwentythree": "1.6", "twentytwentytwo": "1.3"}


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    return get_plugin_manager()


@pytest.fixture(scope="module")
def debian_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of Debian's package per module: tests only read it."""
    return copy_debian_wordpress(tmp_path_factory.mktemp("debian") / "wordpress")


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(timeout=5.0) as shared:
        yield shared


@pytest.fixture
def api_url(feed_server: FeedServer) -> str:
    return serve_wordpress_api(
        feed_server, core_releases=CORE_RELEASES, plugins=PLUGIN_LATEST, themes=THEME_LATEST
    )


def run_check(
    pm: pluggy.PluginManager,
    path: Path,
    api_url: str,
    fetcher: Fetcher,
    *,
    stack: str | None = "wordpress",
    site_id: str = "site",
    options: dict[str, Any] | None = None,
) -> tuple[SiteReport, LocalHost]:
    host = LocalHost()
    report = check_path(
        path,
        fetcher=fetcher,
        source_urls={"wordpress": api_url},
        stack=stack,
        site_id=site_id,
        options=options,
        host=host,
        pm=pm,
    )
    return report, host


def by_name(report: SiteReport) -> dict[str, Finding]:
    return {f"{f.kind}:{f.name}": f for f in report.components}


def inventory(pm: pluggy.PluginManager, path: Path, **options: Any) -> list[Component]:
    host = LocalHost()
    site = site_context(
        host, str(path), fetcher=Fetcher(), source_urls={}, stack="wordpress", options=options
    )
    site.root = str(path)
    components: list[Component] = pm.hook.tma_inventory(site=site)
    return components


# --- Registration and detection ---------------------------------------------------------------


def test_registers_stack_and_source(pm: pluggy.PluginManager) -> None:
    assert registered_stacks(pm)["wordpress"].title == "WordPress"
    assert registered_sources(pm)["wordpress"].default_url == "https://api.wordpress.org"


def test_detects_root_in_subdirectory_and_respects_configured_stack(tmp_path: Path) -> None:
    build_wordpress(tmp_path / "public")
    site = site_context(LocalHost(), str(tmp_path), fetcher=Fetcher(), source_urls={})
    files = {"public/wp-includes/version.php": "<?php\n$wp_version = '6.4.3';\n"}
    detection = detect_wordpress(site, files)
    assert detection is not None
    assert (detection.root, detection.version) == (str(tmp_path / "public"), "6.4.3")
    site.stack = "drupal"
    assert detect_wordpress(site, files) is None
    site.stack = None
    assert detect_wordpress(site, {"wp-includes/version.php": None}) is None


# --- Debian's real package --------------------------------------------------------------------


def test_debian_copy_end_to_end(
    pm: pluggy.PluginManager,
    debian_copy: Path,
    api_url: str,
    feed_server: FeedServer,
    fetcher: Fetcher,
) -> None:
    report, host = run_check(pm, debian_copy, api_url, fetcher, stack=None)
    assert report.status == "updates", report.error
    assert report.stack == "wordpress"
    found = by_name(report)
    core = found["core:wordpress"]
    assert (core.installed, core.latest, core.recommended) == ("6.1.9", "6.7.1", "6.7.1")
    assert core.update == "feature"  # 6.1.9 is the newest of its branch
    assert core.source == "wordpress.org"
    akismet = found["plugin:akismet"]
    assert (akismet.installed, akismet.latest, akismet.update) == ("5.0.2", "5.3.5", "feature")
    assert found["theme:twentytwentythree"].update == "bugfix"  # 1.0 -> 1.6
    assert found["theme:twentytwentytwo"].update == "none"
    assert found["theme:twentytwentytwo"].latest == "1.3"
    assert host.round_trips <= 2
    assert feed_server.hits[CORE_VERSION_CHECK_PATH] == 1
    assert feed_server.hits[PLUGINS_UPDATE_CHECK_PATH] == 1
    assert feed_server.hits[THEMES_UPDATE_CHECK_PATH] == 1
    # The core request carries the site's own required PHP, never the agent machine's.
    core_request = next(r for r in feed_server.requests if r.path == CORE_VERSION_CHECK_PATH)
    assert parse_qs(core_request.query) == {
        "version": ["6.1.9"],
        "php": ["5.6.20"],
        "locale": ["en_US"],
    }


def test_debian_loader_reads_var_lib_content_through_symlinks(
    pm: pluggy.PluginManager, tmp_path: Path
) -> None:
    # Debian's own wp-config.php, no wp-content next to it: WordPress would use
    # /var/lib/wordpress/wp-content, whose entries are symlinks into /usr/share/wordpress.
    site = copy_debian_wordpress(tmp_path / "wordpress", with_content=False)
    assert "/etc/wordpress/config-" in (site / "wp-config.php").read_text()
    assert not (site / "wp-content").exists()
    assert (Path(DEBIAN_CONTENT_DIR) / "plugins" / "akismet").is_symlink()
    components = inventory(pm, site)
    names = {(c.kind, c.name) for c in components}
    assert {("plugin", "akismet"), ("theme", "twentytwentythree")} <= names
    assert components[0].extra["content_dir"] == DEBIAN_CONTENT_DIR
    akismet = next(c for c in components if c.name == "akismet")
    assert akismet.installed == "5.0.2"


def test_root_wp_content_wins_over_debian_default(pm: pluggy.PluginManager, tmp_path: Path) -> None:
    build_wordpress(tmp_path, wp_config="debian", plugins={"classic-editor": "1.6.3"})
    components = inventory(pm, tmp_path)
    assert components[0].extra["content_dir"] == str(tmp_path / "wp-content")
    assert [c.name for c in components if c.kind == "plugin"] == ["classic-editor"]


def test_literal_define_and_option_choose_the_content_dir(
    pm: pluggy.PluginManager, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "shared-content"
    build_wordpress(tmp_path / "a", content_dir=elsewhere, plugins={"classic-editor": "1.6.3"})
    defined = inventory(pm, tmp_path / "a")
    assert defined[0].extra["content_dir"] == str(elsewhere)
    assert [c.name for c in defined if c.kind == "plugin"] == ["classic-editor"]

    # `sites[].options.content_dir` beats everything, including <root>/wp-content.
    build_wordpress(tmp_path / "b", plugins={"akismet": "5.0.2"})
    configured = inventory(pm, tmp_path / "b", content_dir=str(elsewhere))
    assert [c.name for c in configured if c.kind == "plugin"] == ["classic-editor"]

    # A relative define (`__DIR__ . '/content'`) resolves against wp-config.php's directory;
    # a commented-out define is ignored.
    config = (
        "<?php\n// define('WP_CONTENT_DIR', '/nowhere');\n"
        "define( 'WP_CONTENT_DIR', __DIR__ . '/content' );\n"
    )
    build_wordpress(
        tmp_path / "c",
        wp_config=config,
        content_dir=tmp_path / "c" / "content",
        themes={"twentytwentythree": "1.0"},
    )
    relative = inventory(pm, tmp_path / "c")
    assert relative[0].extra["content_dir"] == str(tmp_path / "c" / "content")
    assert [c.name for c in relative if c.kind == "theme"] == ["twentytwentythree"]


# --- Built sites: every verdict ---------------------------------------------------------------


def test_plugins_themes_and_mu_plugins(
    pm: pluggy.PluginManager,
    tmp_path: Path,
    api_url: str,
    feed_server: FeedServer,
    fetcher: Fetcher,
) -> None:
    build_wordpress(
        tmp_path,
        core="6.1.8",
        plugins={
            "akismet": "5.3.4",
            "hello.php": "1.7.2",
            "classic-editor": "1.5.2",
            "private-tool": "2.0",
            "gone-plugin": "1.0",
        },
        update_uri={"private-tool": "https://updates.example.com/private-tool"},
        themes={"twentytwentythree": "1.0", "twentytwentytwo": "1.3"},
        mu_plugins={"agency-tweaks": "1.2", "no-header": None},
    )
    report, host = run_check(pm, tmp_path, api_url, fetcher)
    assert report.status == "updates", report.error
    found = by_name(report)

    core = found["core:wordpress"]
    assert (core.update, core.latest, core.recommended) == ("bugfix", "6.7.1", "6.7.1")

    akismet = found["plugin:akismet"]
    assert (akismet.update, akismet.latest, akismet.recommended) == ("bugfix", "5.3.5", "5.3.5")
    hello = found["plugin:hello"]  # single-file plugin, named by its file stem
    assert (hello.update, hello.latest, hello.source) == ("none", "1.7.2", "wordpress.org")
    assert found["plugin:classic-editor"].update == "feature"  # 1.5.2 -> 1.6.7
    private = found["plugin:private-tool"]
    assert (private.update, private.source, private.latest) == ("unknown", "unknown", None)
    gone = found["plugin:gone-plugin"]
    assert (gone.update, gone.source) == ("unknown", "unknown")

    assert found["theme:twentytwentythree"].update == "bugfix"
    assert found["theme:twentytwentytwo"].update == "none"

    tweaks = found["plugin:agency-tweaks"]
    assert (tweaks.installed, tweaks.update, tweaks.source) == ("1.2", "unknown", "mu-plugin")
    bare = found["plugin:no-header"]
    assert (bare.installed, bare.update, bare.source) == (None, "unknown", "mu-plugin")

    assert host.round_trips <= 2
    # One POST per endpoint, shaped as WordPress' wp_update_plugins() sends it.
    (plugins_post,) = [r for r in feed_server.requests if r.path == PLUGINS_UPDATE_CHECK_PATH]
    form = {k: v[0] for k, v in parse_qs(plugins_post.body.decode()).items()}
    assert (form["all"], json.loads(form["locale"]), json.loads(form["translations"])) == (
        "true",
        ["en_US"],
        [],
    )
    sent = json.loads(form["plugins"])
    assert sent["active"] == []
    # Private and must-use plugins never leave the site.
    assert sorted(sent["plugins"]) == [
        "akismet/akismet.php",
        "classic-editor/classic-editor.php",
        "gone-plugin/gone-plugin.php",
        "hello.php",
    ]
    assert sent["plugins"]["akismet/akismet.php"]["Version"] == "5.3.4"
    (themes_post,) = [r for r in feed_server.requests if r.path == THEMES_UPDATE_CHECK_PATH]
    themes_form = parse_qs(themes_post.body.decode())
    assert set(json.loads(themes_form["themes"][0])["themes"]) == {
        "twentytwentythree",
        "twentytwentytwo",
    }


def test_core_up_to_date_and_same_branch_bugfix(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    url = serve_wordpress_api(feed_server, core_releases=["6.1.9", "6.1.8"])
    build_wordpress(tmp_path / "current", core="6.1.9")
    report, _ = run_check(pm, tmp_path / "current", url, fetcher, site_id="current")
    assert report.status == "ok", report.error
    core = by_name(report)["core:wordpress"]
    assert (core.update, core.latest, core.recommended) == ("none", "6.1.9", "6.1.9")

    build_wordpress(tmp_path / "behind", core="6.1.7")
    report, _ = run_check(pm, tmp_path / "behind", url, fetcher, site_id="behind")
    core = by_name(report)["core:wordpress"]
    assert (core.update, core.latest, core.recommended) == ("bugfix", "6.1.9", "6.1.9")
    # No plugins or themes: nothing to ask those endpoints.
    assert feed_server.hits[PLUGINS_UPDATE_CHECK_PATH] == 0


def test_core_autoupdate_offer_is_recommended_without_upgrade(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, fetcher: Fetcher
) -> None:
    answer = core_version_check_answer("6.1.7", ["6.1.9"])
    answer["offers"] = [o for o in answer["offers"] if o["response"] == "autoupdate"]
    feed_server.routes[CORE_VERSION_CHECK_PATH] = Reply(json.dumps(answer))
    build_wordpress(tmp_path, core="6.1.7")
    report, _ = run_check(pm, tmp_path, feed_server.url, fetcher)
    core = by_name(report)["core:wordpress"]
    assert (core.update, core.recommended) == ("bugfix", "6.1.9")


def test_identical_requests_are_shared_across_sites(
    pm: pluggy.PluginManager,
    tmp_path: Path,
    api_url: str,
    feed_server: FeedServer,
    fetcher: Fetcher,
) -> None:
    layout: dict[str, Any] = {
        "plugins": {"akismet": "5.0.2", "hello.php": "1.7.2"},
        "themes": {"twentytwentythree": "1.0"},
    }
    build_wordpress(tmp_path / "one", core="6.1.9", **layout)
    build_wordpress(tmp_path / "two", core="6.1.9", **layout)
    build_wordpress(tmp_path / "three", core="6.6.1", **layout)
    for name in ("one", "two", "three"):
        report, host = run_check(pm, tmp_path / name, api_url, fetcher, site_id=name)
        assert report.status == "updates", report.error
        assert host.round_trips <= 2
    assert feed_server.hits[CORE_VERSION_CHECK_PATH] == 2  # two distinct cores
    assert feed_server.hits[PLUGINS_UPDATE_CHECK_PATH] == 1
    assert feed_server.hits[THEMES_UPDATE_CHECK_PATH] == 1


# --- Broken answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply("<html>Bad gateway</html>"), "invalid JSON"),
        (Reply("oops", status=500), "HTTP 500"),
        (Reply(json.dumps({"plugins": [{"new_version": "1"}]})), "not an object"),
        (Reply(json.dumps({"plugins": {"akismet/akismet.php": {}}})), "new_version"),
        (Reply(json.dumps(["not", "an", "object"])), "JSON object"),
        (Reply("{}", delay=1.5), "timed out"),
    ],
)
def test_malformed_plugin_answers_leave_core_and_themes(
    pm: pluggy.PluginManager,
    tmp_path: Path,
    feed_server: FeedServer,
    reply: Reply,
    reason: str,
) -> None:
    url = serve_wordpress_api(feed_server, core_releases=CORE_RELEASES, themes=THEME_LATEST)
    feed_server.routes[PLUGINS_UPDATE_CHECK_PATH] = reply
    build_wordpress(tmp_path / "broken", plugins={"akismet": "5.0.2"})
    build_wordpress(tmp_path / "fine", themes={"twentytwentytwo": "1.3"})
    with Fetcher(timeout=0.5) as fetcher:
        broken, _ = run_check(pm, tmp_path / "broken", url, fetcher, site_id="broken")
        fine, _ = run_check(pm, tmp_path / "fine", url, fetcher, site_id="fine")
    assert broken.status == "partial"
    assert broken.error is not None
    assert f"{url}{PLUGINS_UPDATE_CHECK_PATH}" in broken.error
    [error] = broken.source_errors
    assert (error.source, error.url) == ("wordpress", f"{url}{PLUGINS_UPDATE_CHECK_PATH}")
    assert reason in error.error
    found = {f.name: f for f in broken.components}
    assert found["akismet"].update == "unknown"
    # The core version check answered: its verdict is kept.
    assert found["wordpress"].update != "unknown"
    assert fine.status == "updates", fine.error


@pytest.mark.parametrize("failing", ["core", "plugins", "themes"])
def test_each_update_check_api_failing_leaves_the_other_two(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, failing: str
) -> None:
    url = serve_wordpress_api(
        feed_server,
        core_releases=CORE_RELEASES,
        plugins={"akismet": "5.3.5"},
        themes=THEME_LATEST,
    )
    path = {
        "core": CORE_VERSION_CHECK_PATH,
        "plugins": PLUGINS_UPDATE_CHECK_PATH,
        "themes": THEMES_UPDATE_CHECK_PATH,
    }[failing]
    feed_server.routes[path] = Reply("down", status=503)
    build_wordpress(tmp_path, plugins={"akismet": "5.0.2"}, themes={"twentytwentytwo": "1.3"})
    with Fetcher(timeout=2.0, retries=1) as fetcher:
        report, _ = run_check(pm, tmp_path, url, fetcher)
    assert report.status == "partial"
    [error] = report.source_errors
    assert error.source == "wordpress" and error.url.startswith(f"{url}{path}")
    assert error.error == "HTTP 503"
    kinds = {"core": "core", "plugins": "plugin", "themes": "theme"}
    for finding in report.components:
        if finding.kind == kinds[failing]:
            assert finding.update == "unknown", finding
        elif finding.kind in kinds.values() and finding.source != "mu-plugin":
            assert finding.update != "unknown", finding


@pytest.mark.parametrize(
    "body",
    ["nope", json.dumps({"offers": []}), json.dumps({"offers": [{"response": "upgrade"}]})],
)
def test_malformed_core_answer_is_a_site_error(
    pm: pluggy.PluginManager, tmp_path: Path, feed_server: FeedServer, body: str
) -> None:
    feed_server.routes[CORE_VERSION_CHECK_PATH] = Reply(body)
    build_wordpress(tmp_path)
    with Fetcher() as fetcher:
        report, _ = run_check(pm, tmp_path, feed_server.url, fetcher)
    assert report.status == "error"
    assert f"{feed_server.url}{CORE_VERSION_CHECK_PATH}" in (report.error or "")


# --- Header parsing as WordPress' get_file_data() does it -------------------------------------


def test_headers_with_crlf_star_and_hash_prefixes() -> None:
    text = "<?php\r\n/**\r\n * Plugin Name: CRLF Plugin\r\n * Version: 2.1.0\r\n */\r\n"
    assert read_file_headers(text, PLUGIN_HEADERS) == {"Name": "CRLF Plugin", "Version": "2.1.0"}
    old_mac = "<?php\r/*\rPlugin Name: CR Only\rVersion: 0.9\r*/\r"
    assert read_file_headers(old_mac, PLUGIN_HEADERS)["Version"] == "0.9"
    hashed = "<?php\n# Plugin Name: Hashed\n#   Version:   3.0   \n"
    assert read_file_headers(hashed, PLUGIN_HEADERS) == {"Name": "Hashed", "Version": "3.0"}
    one_line = "<?php /* Plugin Name: Inline */ ?>\n<?php // Version: 1.1 ?>"
    assert read_file_headers(one_line, PLUGIN_HEADERS) == {"Name": "Inline", "Version": "1.1"}


def test_first_header_wins_and_code_never_matches() -> None:
    text = (
        "<?php\n/**\n * Plugin Name: First\n * Version: 1.0.0\n */\n"
        '$banner = "Version: 6.6.6";\n'
        "/**\n * Version: 9.9.9\n */\n"
    )
    assert read_file_headers(text, PLUGIN_HEADERS)["Version"] == "1.0.0"
    code_only = '<?php\n$label = "Plugin Name: Not A Plugin";\n'
    assert read_file_headers(code_only, PLUGIN_HEADERS) == {}


def test_header_beyond_8_kib_is_ignored(pm: pluggy.PluginManager, tmp_path: Path) -> None:
    padding = "// " + "x" * 100 + "\n"
    late = "<?php\n" + padding * 90 + "/*\nPlugin Name: Late\nVersion: 1.0\n*/\n"
    assert len(late.encode()) > 8192
    assert read_file_headers(late, PLUGIN_HEADERS) == {}
    early_name = "<?php\n/*\nPlugin Name: Early\n" + padding * 90 + "Version: 4.0\n*/\n"
    assert read_file_headers(early_name, PLUGIN_HEADERS) == {"Name": "Early"}

    # Through the host, which cuts each file at 8 KiB in the same round trip.
    build_wordpress(tmp_path)
    (tmp_path / "wp-content" / "plugins" / "late").mkdir()
    (tmp_path / "wp-content" / "plugins" / "late" / "late.php").write_text(late)
    (tmp_path / "wp-content" / "plugins" / "early.php").write_text(early_name)
    plugins = {c.name: c for c in inventory(pm, tmp_path) if c.kind == "plugin"}
    assert set(plugins) == {"early"}
    assert plugins["early"].installed is None


def test_theme_header_and_hidden_or_headerless_entries(
    pm: pluggy.PluginManager, tmp_path: Path
) -> None:
    style = "/*\nTheme Name: Child\nTemplate: twentytwentythree\nVersion: 0.3 */\n"
    assert read_file_headers(style, THEME_HEADERS) == {
        "Name": "Child",
        "Template": "twentytwentythree",
        "Version": "0.3",
    }
    build_wordpress(tmp_path, plugins={"akismet": "5.0.2"}, themes={"twentytwentythree": "1.0"})
    content = tmp_path / "wp-content"
    (content / "plugins" / "akismet" / "helpers.php").write_text("<?php\nfunction h() {}\n")
    (content / "plugins" / ".hidden").mkdir()
    (content / "plugins" / ".hidden" / "x.php").write_text("<?php\n/* Plugin Name: Hidden */\n")
    (content / "themes" / "broken").mkdir()
    (content / "themes" / "broken" / "style.css").write_text("body { color: red; }\n")
    names = sorted((c.kind, c.name) for c in inventory(pm, tmp_path))
    assert names == [
        ("core", "wordpress"),
        ("plugin", "akismet"),
        ("theme", "twentytwentythree"),
    ]


# --- Small rules ------------------------------------------------------------------------------


def test_update_uri_and_version_rules() -> None:
    assert is_wordpress_org_update_uri(None)
    assert is_wordpress_org_update_uri("https://wordpress.org/plugins/akismet/")
    assert is_wordpress_org_update_uri("w.org/plugin/akismet")
    assert not is_wordpress_org_update_uri("https://updates.example.com/x")
    assert not is_wordpress_org_update_uri("false")
    assert numbered_update_kind("5.0.2", "5.0.3") == "bugfix"
    assert numbered_update_kind("1.0", "1.6") == "bugfix"
    assert numbered_update_kind("5.0.2", "5.3.5") == "feature"
    assert numbered_update_kind("1.9", "2.0") == "feature"
    assert numbered_update_kind("2.0", "2.0") == "none"
    assert numbered_update_kind(None, "2.0") == "feature"


def test_site_in_public_subdirectory_end_to_end(
    pm: pluggy.PluginManager, tmp_path: Path, api_url: str, fetcher: Fetcher
) -> None:
    build_wordpress(tmp_path / "public", core="6.7.1", plugins={"hello.php": "1.7.2"})
    report, host = run_check(pm, tmp_path, api_url, fetcher)
    assert report.status == "ok", report.error
    assert {f.name: f.update for f in report.components} == {"wordpress": "none", "hello": "none"}
    # wp-config.php and version.php came from the detection read: no third round trip.
    assert host.round_trips == 2
