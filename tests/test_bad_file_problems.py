"""Files a host found but did not read (`FileSet.problems`: unreadable, over
`limits.max_file_bytes`, a link leaving the tree) follow the one rule for bad site files: the
component they describe is `unknown` with the reason, a lock is the site's error. The trees are
real; the problems are recorded in the site context as a host reports them."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path

import pytest
from tma_composer.testing.trees import build_symfony
from tma_drupal.infofiles import MAX_INFO_BYTES, parse_info_file
from tma_drupal.inventory import _projects_from_info, inventory
from tma_drupal.testing.trees import build_drupal10
from tma_npm.inventory import list_components as npm_components
from tma_npm.testing.trees import build_npm_site
from tma_prestashop.inventory import list_components as prestashop_components
from tma_prestashop.testing.trees import build_prestashop
from tma_wordpress.inventory import list_components as wordpress_components
from tma_wordpress.testing.trees import build_wordpress

from tma_agent.context import SiteContext
from tma_agent.ecosystems.composer_site import read_project
from tma_agent.errors import SiteTreeError
from tma_agent.hosts import FileSet, LocalHost
from tma_agent.plugins import get_plugin_manager
from tma_agent.sources import Fetcher
from tma_agent.testing.sites import site_context

PM = get_plugin_manager()
LEAVING = "symlink leaving the site tree"


def _site(path: Path, fetcher: Fetcher, stack: str | None = None) -> SiteContext:
    return site_context(LocalHost(), str(path), fetcher=fetcher, source_urls={}, stack=stack)


def _unread(site: SiteContext, path: Path, reason: str) -> None:
    """Record `path` as the host reports a file it found but did not read."""
    site.remember(FileSet({str(path): None}, problems={str(path): reason}))


def test_info_file_parser_refuses_aliases_depth_size_and_keeps_d7_lines_linear() -> None:
    bomb = parse_info_file("modules/b/b.info.yml", "a: &a [x]\nb: *a\n", drupal7=False)
    assert bomb.error == "YAML anchors and aliases are not allowed in an info file"
    deep = parse_info_file("modules/d/d.info.yml", "k: " + "{a: " * 5000, drupal7=False)
    assert deep.error is not None and deep.error.startswith("nested deeper than")
    big = parse_info_file("modules/h/h.info", "name = H\n" + " " * MAX_INFO_BYTES, drupal7=True)
    assert big.error is not None and "over the 65536" in big.error
    # A long run of spaces before `;` made the old single regex backtrack quadratically.
    d7 = parse_info_file(
        "m/m.info", "name = M\nversion = 7.x-1.0\nx = " + " " * 60000, drupal7=True
    )
    assert (d7.error, d7.version) == (None, "7.x-1.0")
    quoted = parse_info_file("m/m.info", 'name = "M; 1"\nversion = "7.x-2.1"\n', drupal7=True)
    assert (quoted.error, quoted.version) == (None, "7.x-2.1")
    good = parse_info_file(
        "m/m.info.yml", "name: M\nversion: '8.x-1.2'\nproject: m\n", drupal7=False
    )
    assert (good.error, good.version, good.project) == (None, "8.x-1.2", "m")


def test_drupal_unread_info_file_is_an_unknown_component_and_a_lock_the_site_error(
    tmp_path: Path, fetcher: Fetcher
) -> None:
    tree = build_drupal10(tmp_path, custom_modules=("agency_tweaks", "secret"))
    secret = tree.docroot / "modules/custom/secret/secret.info.yml"
    site = _site(tree.project_root, fetcher, stack="drupal")
    scanned = {str(p): p.read_text() for p in tree.docroot.glob("modules/**/*.info.yml")}
    del scanned[str(secret)]
    leaving = tree.docroot / "modules/contrib/leaky"  # as the host reports `leaky -> /`
    problems = {str(secret): "unreadable by tma-test", str(leaving): LEAVING}
    projects = _projects_from_info(site, str(tree.docroot), scanned, problems, drupal7=False)
    assert projects["leaky"].problem == f"web/modules/contrib/leaky: {LEAVING}"
    assert (
        projects["secret"].problem
        == "web/modules/custom/secret/secret.info.yml: unreadable by tma-test"
    )
    assert projects["agency_tweaks"].problem is None
    assert projects["pathauto"].problem is None

    _unread(site, tree.project_root / "composer.lock", "over limits.max_file_bytes")
    with pytest.raises(SiteTreeError, match=r"composer\.lock: over limits\.max_file_bytes"):
        inventory(site)


def test_drupal_bad_installed_json_without_a_lock_is_the_site_error(
    tmp_path: Path, fetcher: Fetcher
) -> None:
    tree = build_drupal10(tmp_path, composer=False)
    installed = tree.project_root / "vendor/composer/installed.json"
    installed.parent.mkdir(parents=True)
    installed.write_text('{"packages": ' + "[" * 100_000)
    with pytest.raises(SiteTreeError) as caught:
        inventory(_site(tree.project_root, fetcher, stack="drupal"))
    assert str(caught.value) == f"local:{installed}: nested too deeply"


def test_wordpress_version_php_not_read_is_the_site_error(tmp_path: Path, fetcher: Fetcher) -> None:
    root = build_wordpress(tmp_path)
    site = _site(root, fetcher, stack="wordpress")
    _unread(site, root / "wp-includes/version.php", "unreadable by tma-test")
    with pytest.raises(SiteTreeError, match=r"wp-includes/version\.php: unreadable by tma-test$"):
        wordpress_components(site)


def test_composer_lock_or_manifest_not_read_is_the_site_error(
    tmp_path: Path, fetcher: Fetcher
) -> None:
    root = build_symfony(tmp_path)
    site = _site(root, fetcher, stack="composer")
    _unread(site, root / "composer.lock", "larger than limits.max_file_bytes (1048576)")
    with pytest.raises(SiteTreeError) as caught:
        read_project(site)
    assert (
        str(caught.value)
        == f"local:{root}/composer.lock: larger than limits.max_file_bytes (1048576)"
    )
    # Detection still calls the tree Composer's, so the inventory can name the lock.
    files = {"composer.json": (root / "composer.json").read_text(), "composer.lock": None}
    detected = PM.hook.tma_detect_stack(site=_with_problem(root, fetcher), files=files)
    assert detected is not None and detected.stack == "composer"


def _with_problem(root: Path, fetcher: Fetcher) -> SiteContext:
    site = _site(root, fetcher)
    _unread(site, root / "composer.lock", "unreadable by tma-test")
    return site


def test_npm_lockfile_not_read_is_the_site_error(tmp_path: Path, fetcher: Fetcher) -> None:
    root = build_npm_site(tmp_path, dependencies={"react": ("^18.2.0", "18.2.0")})
    site = _site(root, fetcher, stack="npm")
    site.remember(FileSet({str(root / "package.json"): (root / "package.json").read_text()}))
    _unread(site, root / "package-lock.json", "a symlink leaving the site path")
    with pytest.raises(
        SiteTreeError, match=r"package-lock\.json: a symlink leaving the site path$"
    ):
        npm_components(site)


def test_wordpress_plugin_and_theme_files_not_read_are_unknown_by_slug(
    tmp_path: Path, fetcher: Fetcher
) -> None:
    root = build_wordpress(
        tmp_path, plugins={"akismet": "5.0.2"}, themes={"twentytwentythree": "1.0"}
    )
    content = root / "wp-content"
    (content / "plugins/webform").mkdir()
    (content / "plugins/webform/webform.php").write_text("<?php\n/* Plugin Name: Webform */\n")
    (content / "themes/astra").mkdir()
    (content / "themes/astra/style.css").write_text("/*\nTheme Name: Astra\n*/\n")
    (content / "plugins/akismet/extra.php").write_text("<?php\n")
    site = _site(root, fetcher, stack="wordpress")
    host = _ProblemsHost(
        {
            str(content / "plugins/webform/webform.php"): "unreadable by tma-test",
            str(content / "themes/astra/style.css"): "over limits.max_file_bytes",
            str(content / "plugins/akismet/extra.php"): "unreadable by tma-test",
        }
    )
    site.host = host
    found = {c.name: c for c in wordpress_components(site)}
    assert found["akismet"].problem is None and found["akismet"].installed == "5.0.2"
    # Directories the host would not enter (symlinks leaving the site) are named by their slug.
    leaving = {str(content / "plugins/leaky"): LEAVING, str(content / "themes/shady"): LEAVING}
    site.host = _ProblemsHost({}, leaving)
    again = {c.name: c for c in wordpress_components(site)}
    assert again["leaky"].problem == f"wp-content/plugins/leaky: {LEAVING}"
    assert (again["shady"].kind, again["shady"].problem) == (
        "theme",
        f"wp-content/themes/shady: {LEAVING}",
    )
    assert (
        found["webform"].problem == "wp-content/plugins/webform/webform.php: unreadable by tma-test"
    )
    assert (found["astra"].kind, found["astra"].problem) == (
        "theme",
        "wp-content/themes/astra/style.css: over limits.max_file_bytes",
    )


class _ProblemsHost(LocalHost):
    """The local twin whose globs report the given (real) files as found but not read, the way
    the host layer reports unreadable or oversized files (its own tests cover how it finds
    them): here only the plugins' handling of `FileSet.problems` is under test."""

    def __init__(self, problems: dict[str, str], leaving: dict[str, str] | None = None) -> None:
        super().__init__()
        self.not_read = problems
        #: Directories reported as symlinks leaving the tree (not on disk: never entered).
        self.leaving = leaving or {}

    def read_glob(
        self,
        roots: Sequence[str],
        names: Sequence[str],
        *,
        max_depth: int = 4,
        max_bytes: int = 0,
    ) -> FileSet[str]:
        found = super().read_glob(roots, names, max_depth=max_depth, max_bytes=max_bytes)
        assert set(self.not_read) <= set(found), "the files said not read must exist"
        kept = {path: text for path, text in found.items() if path not in self.not_read}
        problems = {**found.problems, **self.not_read, **self.leaving}
        return FileSet(kept, problems=problems)


def test_prestashop_malformed_config_xml_or_unread_main_file_is_an_unknown_module(
    tmp_path: Path, fetcher: Fetcher
) -> None:
    root = build_prestashop(
        tmp_path,
        dynamic_version=["ps_facetedsearch"],
        config_xml={"ps_facetedsearch": "<module><version>3.14.1</version>" + "<x>" * 20000},
    )
    main = root / "modules/ps_emailsubscription/ps_emailsubscription.php"
    site = _site(root, fetcher, stack="prestashop")
    leaving = {str(root / "modules/leaky"): LEAVING}
    site.host = _ProblemsHost({str(main): "unreadable by tma-test"}, leaving)
    found = {c.name: c for c in prestashop_components(site)}
    assert found["ps_facetedsearch"].problem is not None
    assert found["ps_facetedsearch"].problem.startswith(
        "modules/ps_facetedsearch/config.xml: invalid XML"
    )
    assert found["ps_emailsubscription"].problem == (
        "modules/ps_emailsubscription/ps_emailsubscription.php: unreadable by tma-test"
    )
    assert found["leaky"].problem == f"modules/leaky: {LEAVING}"
    assert found["agency_tweaks"].problem is None
    assert posixpath.basename(found["agency_tweaks"].origin) == "agency_tweaks.php"
