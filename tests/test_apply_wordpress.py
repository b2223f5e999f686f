"""WordPress core and plugin updates from release zips, through the real `tma playbook run`:
a real WordPress tree (Debian's package), packages and the checksums API served on 127.0.0.1,
WP-CLI as a stand-in executable, one run over the real sshd."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import yaml
from pydantic import ValidationError
from tma_wordpress.step_args import PackageSpec
from tma_wordpress.testing.trees import copy_debian_wordpress

from tma_agent.apply.archives import ArchiveError, ArchiveLimits, extract_archive
from tma_agent.errors import TmaError
from tma_agent.models import Finding
from tma_agent.plugins import get_plugin_manager
from tma_agent.testing.cli import run_tma
from tma_agent.testing.feeds import FeedServer, Reply, Request
from tma_agent.testing.sshd import SSHServer

OLD, NEW = "6.1.9", "6.1.10"
AKISMET_NEW = "5.0.3"

CORE_PLAYBOOK = """\
name: wp-core-test
variables:
  version: {required: true}
  wp_cli: {default: wp}
  fail_after: {default: false}
steps:
  - wordpress.core_update: {version: "{{ version }}", wp_cli: "{{ wp_cli }}"}
  - shell: [sh, -c, "exit 7"]
    when: fail_after
on_failure:
  - wordpress.restore: {}
"""

SWAP_PLAYBOOK = """\
name: wp-swap-test
variables:
  packages: {required: true}
  fail_after: {default: false}
steps:
  - wordpress.package_swap: {packages: "{{ packages }}"}
  - shell: [sh, -c, "exit 7"]
    when: fail_after
on_failure:
  - wordpress.restore: {}
"""


# -- trees and packages -----------------------------------------------------------------------
def tree_sums(root: Path) -> dict[str, str]:
    """Every file and link of a tree with its content's MD5 (a link: its target)."""
    sums = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            sums[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            sums[rel] = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
    return sums


def zip_tree(root: Path, top: str, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zipped:
        for path in sorted(root.rglob("*")):
            name = f"{top}/{path.relative_to(root).as_posix()}"
            zipped.write(path, name + ("/" if path.is_dir() else ""))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Debian's WordPress 6.1.9 as a standalone site, with some content of its own."""
    root = copy_debian_wordpress(tmp_path_factory.mktemp("pristine") / "site")
    (root / "wp-content" / "uploads").mkdir(exist_ok=True)
    (root / "wp-content" / "uploads" / "photo.jpg").write_bytes(b"\xff\xd8 not really")
    return root


@pytest.fixture(scope="module")
def core_release(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A "6.1.10" package built from the real tree: version.php changed, a file added, one
    removed, a bundled theme in its wp-content (which an update must not install)."""
    base = tmp_path_factory.mktemp("release")
    tree = base / "wordpress"
    shutil.copytree(pristine, tree, ignore=shutil.ignore_patterns("wp-config.php", "wp-content"))
    version_php = tree / "wp-includes" / "version.php"
    version_php.write_text(version_php.read_text().replace(f"'{OLD}'", f"'{NEW}'"))
    (tree / "wp-includes" / "tma-new-file.php").write_text("<?php // new in 6.1.10\n")
    (tree / "wp-admin" / "about.php").unlink()
    (tree / "wp-content" / "themes" / "tma-from-package").mkdir(parents=True)
    (tree / "wp-content" / "index.php").write_text("<?php // Silence is golden.\n")
    (tree / "wp-content" / "themes" / "tma-from-package" / "style.css").write_text("/* x */\n")
    archive = base / f"wordpress-{NEW}.zip"
    zip_tree(tree, "wordpress", archive)
    return {"zip": archive.read_bytes(), "checksums": tree_sums(tree)}


@pytest.fixture(scope="module")
def akismet_zip(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    base = tmp_path_factory.mktemp("akismet")
    plugin = base / "akismet"
    shutil.copytree(pristine / "wp-content" / "plugins" / "akismet", plugin)
    main = plugin / "akismet.php"
    main.write_text(main.read_text().replace("Version: 5.0.2", f"Version: {AKISMET_NEW}"))
    (plugin / "new-in-503.php").write_text("<?php\n")
    zip_tree(plugin, "akismet", base / "akismet.zip")
    return (base / "akismet.zip").read_bytes()


# -- the local API --------------------------------------------------------------------------------
class WordPressAPI:
    """Routes of api.wordpress.org (and downloads.) in their real formats, on a FeedServer."""

    def __init__(self, server: FeedServer, release: dict[str, Any], akismet: bytes) -> None:
        self.server = server
        self.checksums: dict[str, str] | bool = dict(release["checksums"])
        server.routes["/release/wordpress.zip"] = Reply(release["zip"])
        server.routes["/release/akismet.zip"] = Reply(akismet)
        server.routes["/core/version-check/1.7/"] = self._offers
        server.routes["/core/checksums/1.0/"] = self._checksums
        server.routes["/plugins/info/1.2/"] = self._plugin_info
        server.routes["/wp-admin/upgrade.php"] = Reply("<p>Update Complete</p>")

    def _offers(self, request: Request) -> Reply:
        package = f"{self.server.url}/release/wordpress.zip"
        offer = {"response": "upgrade", "current": NEW, "version": NEW, "locale": "en_US",
                 "download": package, "packages": {"full": package, "no_content": "",
                 "new_bundled": "", "partial": False}}  # fmt: skip
        return Reply(json.dumps({"offers": [offer], "translations": []}))

    def _checksums(self, request: Request) -> Reply:
        query = parse_qs(request.query)
        if query.get("version") != [NEW] or query.get("locale") != ["en_US"]:
            return Reply(json.dumps({"checksums": False}))
        return Reply(json.dumps({"checksums": self.checksums}))

    def _plugin_info(self, request: Request) -> Reply:
        query = parse_qs(request.query)
        slug = query.get("request[slug]", [""])[0]
        link = f"{self.server.url}/release/{slug}.zip"
        return Reply(json.dumps({"slug": slug, "version": AKISMET_NEW, "download_link": link}))

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.server.requests if r.path == path]


@pytest.fixture
def api(core_release: dict[str, Any], akismet_zip: bytes) -> Iterator[WordPressAPI]:
    with FeedServer() as server:
        yield WordPressAPI(server, core_release, akismet_zip)


# -- sites and configs ----------------------------------------------------------------------------
@pytest.fixture
def site(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the pristine site made of hard links: cheap, and a swap only renames."""
    target = tmp_path / "site"
    subprocess.run(["cp", "-al", str(pristine), str(target)], check=True)
    return target


def write_config(tmp_path: Path, site: Path, api: WordPressAPI, **environment: Any) -> Path:
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir(exist_ok=True)
    (playbooks / "wp-core-test.yaml").write_text(CORE_PLAYBOOK)
    (playbooks / "wp-swap-test.yaml").write_text(SWAP_PLAYBOOK)
    env = {"host": "local", "path": str(site), "url": api.server.url, **environment}
    config = {
        "state_dir": str(tmp_path / "state"),
        "http": {"timeout": 20, "retries": 1},
        "sources": {"wordpress": {"url": api.server.url}},
        "apply": {"playbook_dirs": [str(playbooks)], "backup_dir": str(tmp_path / "backups")},
        "clients": [{"id": "acme", "name": "Acme"}],
        "sites": [{"id": "blog", "client": "acme", "stack": "wordpress",
                   "environments": {"staging": env}}],
    }  # fmt: skip
    path = tmp_path / "tma.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def stand_in_wp(directory: Path, *, exit_code: int = 0) -> Path:
    """WP-CLI cannot exist here: a `wp` that records its argv and working directory."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "wp-calls.log"
    script = directory / "wp"
    script.write_text(f'#!/bin/sh\nprintf "%s|%s\\n" "$(pwd)" "$*" >> {log}\nexit {exit_code}\n')
    script.chmod(0o755)
    log.touch()
    log.chmod(0o666)
    return script


def playbook(config: Path, name: str, *variables: str, env: dict[str, str] | None = None) -> Any:
    options = [arg for item in variables for arg in ("--var", item)]
    done = run_tma(
        "playbook", "run", name, "--site", "blog", *options, "--format", "json",
        config=config, env=env,
    )  # fmt: skip
    try:
        outcome = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON outcome (exit {done.returncode}): {done.stderr}")
    return done.returncode, outcome, done.stderr


def version_of(site: Path) -> str:
    text = (site / "wp-includes" / "version.php").read_text()
    return text.split("$wp_version = '", 1)[1].split("'", 1)[0]


# -- core -------------------------------------------------------------------------------------------
def test_core_update_keeps_content_and_config_and_upgrades_the_database(
    site: Path, tmp_path: Path, api: WordPressAPI
) -> None:
    content_before = tree_sums(site / "wp-content")
    config_file = site / "wp-config.php"
    config_before = (config_file.read_bytes(), config_file.stat().st_ino)
    config = write_config(tmp_path, site, api)
    code, outcome, stderr = playbook(config, "wp-core-test", f"version={NEW}")
    assert code == 0, stderr
    assert outcome["status"] == "succeeded"
    assert version_of(site) == NEW
    assert (site / "wp-includes" / "tma-new-file.php").is_file()
    assert not (site / "wp-admin" / "about.php").exists()  # whole directories were swapped
    assert tree_sums(site / "wp-content") == content_before
    assert not (site / "wp-content" / "themes" / "tma-from-package").exists()
    assert (config_file.read_bytes(), config_file.stat().st_ino) == config_before
    assert not list(site.glob(".tma-swap-*"))
    # No WP-CLI on the host: the database upgrade is WordPress' own upgrade.php.
    upgrades = api.hits("/wp-admin/upgrade.php")
    assert [parse_qs(r.query) for r in upgrades] == [{"step": ["upgrade_db"]}]
    assert len(api.hits("/core/checksums/1.0/")) == 1
    applies = tmp_path / "state" / "applies" / "blog"
    assert applies.is_dir() and not list(applies.rglob("wp-load.php"))  # no local copy left


@pytest.mark.parametrize("tamper", ["mismatch", "missing", "truncated"])
def test_a_bad_checksum_refuses_before_anything_is_touched(
    site: Path, tmp_path: Path, api: WordPressAPI, tamper: str
) -> None:
    assert isinstance(api.checksums, dict)
    if tamper == "mismatch":
        api.checksums["wp-includes/version.php"] = "0" * 32
    elif tamper == "missing":
        del api.checksums["wp-login.php"]
    else:
        api.checksums["wp-includes/lost-on-the-way.php"] = "0" * 32
    before = tree_sums(site)
    config = write_config(tmp_path, site, api)
    code, outcome, stderr = playbook(config, "wp-core-test", f"version={NEW}")
    assert code == 4
    assert outcome["status"] == "refused"
    expected = {
        "mismatch": "wp-includes/version.php does not match its checksum",
        "missing": "wp-login.php has no published checksum",
        "truncated": "wp-includes/lost-on-the-way.php is missing from it",
    }[tamper]
    assert expected in outcome["error"] and "Traceback" not in stderr
    assert tree_sums(site) == before
    assert not (tmp_path / "backups").exists()  # nothing was even uploaded
    assert api.hits("/wp-admin/upgrade.php") == []


def test_wp_cli_runs_update_db(site: Path, tmp_path: Path, api: WordPressAPI) -> None:
    wp = stand_in_wp(tmp_path / "bin")
    config = write_config(tmp_path, site, api)
    path_env = {"PATH": f"{wp.parent}:{os.environ['PATH']}"}
    code, _, stderr = playbook(config, "wp-core-test", f"version={NEW}", env=path_env)
    assert code == 0, stderr
    assert (wp.parent / "wp-calls.log").read_text().splitlines() == [f"{site}|core update-db"]
    assert api.hits("/wp-admin/upgrade.php") == []
    assert version_of(site) == NEW


def test_a_failing_database_upgrade_puts_the_old_core_back(
    site: Path, tmp_path: Path, api: WordPressAPI
) -> None:
    before = tree_sums(site)
    wp = stand_in_wp(tmp_path / "bin", exit_code=3)
    config = write_config(tmp_path, site, api)
    path_env = {"PATH": f"{wp.parent}:{os.environ['PATH']}"}
    code, outcome, stderr = playbook(config, "wp-core-test", f"version={NEW}", env=path_env)
    assert code == 4, stderr
    assert outcome["status"] == "rolled_back"
    assert (wp.parent / "wp-calls.log").read_text().splitlines() == [f"{site}|core update-db"]
    assert tree_sums(site) == before
    assert version_of(site) == OLD
    assert not list(site.glob(".tma-swap-*"))


# -- plugins ----------------------------------------------------------------------------------------
AKISMET = f"[plugin/akismet@{AKISMET_NEW}]"


def test_plugin_swap_and_a_later_failure_rolls_it_back(
    site: Path, tmp_path: Path, api: WordPressAPI
) -> None:
    plugin = site / "wp-content" / "plugins" / "akismet"
    before = tree_sums(site)
    config = write_config(tmp_path, site, api)
    code, outcome, stderr = playbook(
        config, "wp-swap-test", f"packages={AKISMET}", "fail_after=true"
    )
    assert code == 4, stderr
    assert outcome["status"] == "rolled_back"
    assert tree_sums(site) == before
    assert not list((site / "wp-content" / "plugins").glob(".tma-swap-*"))

    code, outcome, stderr = playbook(config, "wp-swap-test", f"packages={AKISMET}")
    assert code == 0, stderr
    assert f"Version: {AKISMET_NEW}" in (plugin / "akismet.php").read_text()
    assert (plugin / "new-in-503.php").is_file()
    others = {k: v for k, v in tree_sums(site).items() if "/plugins/akismet/" not in k}
    assert others == {k: v for k, v in before.items() if "/plugins/akismet/" not in k}
    assert not list((site / "wp-content" / "plugins").glob(".tma-swap-*"))


def _hostile_zip(kind: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("akismet/akismet.php", "<?php\n")
        if kind == "traversal":
            zipped.writestr("akismet/../../../../escaped.php", "<?php evil();\n")
        else:
            link = zipfile.ZipInfo("akismet/link.php")
            link.external_attr = (stat.S_IFLNK | 0o777) << 16
            zipped.writestr(link, "/etc/passwd")
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["traversal", "symlink"])
def test_a_hostile_plugin_zip_is_refused(
    site: Path, tmp_path: Path, api: WordPressAPI, kind: str
) -> None:
    api.server.routes["/release/akismet.zip"] = Reply(_hostile_zip(kind))
    before = tree_sums(site)
    config = write_config(tmp_path, site, api)
    code, outcome, _ = playbook(config, "wp-swap-test", f"packages={AKISMET}")
    assert code == 4 and outcome["status"] == "refused"
    assert ("path traversal" if kind == "traversal" else "a symlink") in outcome["error"]
    assert tree_sums(site) == before
    assert not list(tmp_path.rglob("escaped.php"))


def test_hostile_names_and_urls_never_reach_the_host(
    site: Path, tmp_path: Path, api: WordPressAPI
) -> None:
    for spec in (
        "plugin/../../etc@1.0",
        "plugin/akismet@$(touch pwned)",
        "module/akismet@1.0",
        {"kind": "plugin", "slug": "akismet", "version": "1.0", "package": "file:///etc/passwd"},
        {"kind": "theme", "slug": "Twenty Two", "version": "1.0"},
    ):
        with pytest.raises(ValidationError, match="refused"):
            PackageSpec.model_validate(spec)
    config = write_config(tmp_path, site, api)
    before = tree_sums(site)
    packages = "['plugin/akismet@1.0; touch pwned']"
    code, outcome, stderr = playbook(config, "wp-swap-test", f"packages={packages}")
    assert code == 4, stderr
    assert "refused version" in outcome["error"] and "Traceback" not in stderr
    assert tree_sums(site) == before
    assert not list(tmp_path.rglob("pwned"))
    assert api.server.requests == []  # refused before anything was even downloaded


def test_core_update_over_the_real_sshd(
    sshd: SSHServer, pristine: Path, tmp_path: Path, api: WordPressAPI
) -> None:
    site = sshd.make_shared_dir(writable=True) / "site"
    shutil.copytree(pristine, site, symlinks=True)
    backups = sshd.make_shared_dir(writable=True)
    tools = sshd.make_shared_dir(writable=True)
    wp = stand_in_wp(tools)
    if sshd.is_root:
        subprocess.run(["chown", "-R", f"{sshd.user}:", str(site), str(tools)], check=True)
    content_before = tree_sums(site / "wp-content")
    config = write_config(tmp_path, site, api, host=f"ssh://{sshd.user}@{sshd.host}:{sshd.port}")
    data = yaml.safe_load(config.read_text())
    data["ssh"] = sshd.settings().model_dump()
    data["apply"]["backup_dir"] = str(backups)
    config.write_text(yaml.safe_dump(data))
    code, outcome, stderr = playbook(config, "wp-core-test", f"version={NEW}", f"wp_cli={wp}")
    assert code == 0, stderr
    assert version_of(site) == NEW
    assert tree_sums(site / "wp-content") == content_before
    assert (wp.parent / "wp-calls.log").read_text().splitlines() == [f"{site}|core update-db"]
    version_php = site / "wp-includes" / "version.php"
    if sshd.is_root:
        assert version_php.stat().st_uid == os.stat(backups).st_uid  # written by the ssh user
    # The old core is kept in the apply's backup directory on the host, out of the tree.
    kept = list(backups.glob("blog/*/.tma-swap-*-old/wp-includes/version.php"))
    assert len(kept) == 1 and f"'{OLD}'" in kept[0].read_text()
    assert not list(site.glob(".tma-swap-*"))
    assert outcome["status"] == "succeeded"


# -- archives and plans -----------------------------------------------------------------------------
def test_extraction_bounds_and_nothing_written_on_refusal(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for index in range(5):
            zipped.writestr(f"top/f{index}.txt", "x" * 100)
    with pytest.raises(ArchiveError, match="5 members, over 4"):
        extract_archive(archive, tmp_path / "a", limits=ArchiveLimits(max_members=4))
    with pytest.raises(ArchiveError, match="over the size limit"):
        extract_archive(archive, tmp_path / "b", limits=ArchiveLimits(max_member_bytes=99))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    files = extract_archive(archive, tmp_path / "c")
    assert files == [f"top/f{i}.txt" for i in range(5)]
    assert oct((tmp_path / "c" / "top" / "f0.txt").stat().st_mode & 0o777) == "0o644"


def _finding(name: str, kind: str, installed: str, recommended: str, update: str) -> Finding:
    return Finding(name, kind, installed, recommended, recommended, update, [], "wordpress.org")  # type: ignore[arg-type]


def test_apply_plans_for_core_then_extensions_with_checked_data() -> None:
    pm = get_plugin_manager()
    core = _finding("wordpress", "core", OLD, NEW, "bugfix")
    akismet = _finding("akismet", "plugin", "5.0.2", AKISMET_NEW, "bugfix")
    theme = _finding("twentytwentytwo", "theme", "1.3", "1.4", "security")
    current = _finding("hello", "plugin", "1.7", "1.7", "none")
    plan = pm.hook.tma_apply_plan(site=None, stack="wordpress", findings=[akismet, core])
    assert (plan.playbook, plan.variables) == (
        "wordpress-core",
        {"version": NEW, "locale": "en_US", "package": ""},
    )
    plan = pm.hook.tma_apply_plan(site=None, stack="wordpress", findings=[akismet, theme, current])
    assert plan.playbook == "wordpress-extensions"
    assert plan.variables["packages"] == [
        {"kind": "plugin", "slug": "akismet", "version": AKISMET_NEW, "package": ""},
        {"kind": "theme", "slug": "twentytwentytwo", "version": "1.4", "package": ""},
    ]
    hostile = _finding("akismet$(id)", "plugin", "5.0.2", AKISMET_NEW, "bugfix")
    with pytest.raises(TmaError, match="refused slug"):
        pm.hook.tma_apply_plan(site=None, stack="wordpress", findings=[hostile])
    assert pm.hook.tma_apply_plan(site=None, stack="wordpress", findings=[current]) is None


def test_dry_run_downloads_and_checks_but_changes_nothing(
    site: Path, tmp_path: Path, api: WordPressAPI
) -> None:
    before = tree_sums(site)
    config = write_config(tmp_path, site, api)
    done = run_tma(
        "playbook", "run", "wp-swap-test", "--site", "blog", "--var", f"packages={AKISMET}",
        "--dry-run", "--format", "table", config=config,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "tar -xf" in done.stdout and " mv -- " in done.stdout
    assert tree_sums(site) == before
    assert not (tmp_path / "backups").exists()
    assert len(api.hits("/release/akismet.zip")) == 1  # checked in the preflight, once


SHIPPED = Path(__file__).resolve().parent.parent / "playbooks"


@pytest.mark.parametrize(
    ("name", "variables"),
    [
        ("wordpress-core", {"version": NEW, "locale": "en_US", "package": ""}),
        ("wordpress-extensions", {"packages": [f"plugin/akismet@{AKISMET_NEW}"],
                                  "content_dir": "wp-content"}),
        ("drupal7-core", {"version": "7.103", "package": ""}),
    ],
)  # fmt: skip
def test_shipped_playbooks_give_our_steps_valid_arguments(
    name: str, variables: dict[str, Any]
) -> None:
    """The git, db and http steps come from other plugins; ours must accept what the shipped
    playbooks pass them, as written and once rendered with a plan's variables."""
    from tma_agent.apply.registry import registered_steps
    from tma_agent.apply.templates import render_value

    steps = registered_steps(get_plugin_manager())
    data = yaml.safe_load((SHIPPED / f"{name}.yaml").read_text())
    assert set(data["variables"]) == set(variables)
    ours = [
        (kind, args)
        for step in [*data["steps"], *data["on_failure"]]
        for kind, args in step.items()
        if kind.startswith(("wordpress.", "drupal7."))
    ]
    assert len(ours) == 2  # the update step and its restore
    for kind, args in ours:
        steps[kind].args_model.model_validate(args or {})
        steps[kind].args_model.model_validate(render_value(args or {}, variables))


def test_a_later_process_without_the_facts_still_puts_the_old_plugin_back(
    site: Path, tmp_path: Path, api: WordPressAPI
) -> None:
    """What a recovery after a SIGKILL mid-step has: the stamp, not the step's facts."""
    from tma_agent.apply.prepare import open_context
    from tma_agent.apply.registry import playbook_by_name, registered_steps
    from tma_agent.apply.swap import restore_swaps
    from tma_agent.config import load_config

    before = tree_sums(site)
    config_path = write_config(tmp_path, site, api)
    code, _, stderr = playbook(config_path, "wp-swap-test", f"packages={AKISMET}")
    assert code == 0, stderr
    assert tree_sums(site) != before
    (stamp_dir,) = [p for p in (tmp_path / "backups" / "blog").iterdir() if p.is_dir()]
    pm = get_plugin_manager()
    config = load_config(config_path)
    steps = registered_steps(pm)
    book = playbook_by_name("wp-swap-test", pm, config.apply, steps)
    ctx = open_context(
        config, pm, config.sites[0], "staging", book, {"packages": [AKISMET]},
        dry_run=False, stamp=stamp_dir.name,
    )  # fmt: skip
    try:
        assert ctx.facts == {}
        assert restore_swaps(ctx) == [f"plugin akismet {AKISMET_NEW}"]
        assert tree_sums(site) == before
        assert restore_swaps(ctx) == []  # done once, recorded as done
    finally:
        ctx.host.close()


# -- single-file plugins ------------------------------------------------------------------------
#: The local info API offers this version for every slug.
HELLO_NEW = AKISMET_NEW
HELLO = f"[plugin/hello@{HELLO_NEW}]"


def hello_php(version: str) -> str:
    """A single-file plugin as WordPress reads one (headers in the first comment)."""
    return (
        "<?php\n/**\n * @package Hello_Tma\n */\n/*\nPlugin Name: Hello Tma\n"
        f"Description: A single-file plugin written by the tests.\nVersion: {version}\n*/\n"
        "function hello_tma() {\n\treturn 'hello';\n}\n"
    )


def zip_of(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, text in members.items():
            zipped.writestr(name, text)
    return buffer.getvalue()


def with_hello(site: Path) -> Path:
    hello = site / "wp-content" / "plugins" / "hello.php"
    hello.unlink(missing_ok=True)  # a hard link of the pristine tree's: never written through
    hello.write_text(hello_php("1.7.2"))
    return hello


def test_single_file_plugin_swapped_over_the_real_sshd(
    sshd: SSHServer, pristine: Path, tmp_path: Path, api: WordPressAPI
) -> None:
    site = sshd.make_shared_dir(writable=True) / "site"
    shutil.copytree(pristine, site, symlinks=True)
    hello = with_hello(site)
    backups = sshd.make_shared_dir(writable=True)
    if sshd.is_root:
        subprocess.run(["chown", "-R", f"{sshd.user}:", str(site)], check=True)
    api.server.routes["/release/hello.zip"] = Reply(zip_of({"hello.php": hello_php(HELLO_NEW)}))
    config = write_config(tmp_path, site, api, host=f"ssh://{sshd.user}@{sshd.host}:{sshd.port}")
    data = yaml.safe_load(config.read_text())
    data["ssh"] = sshd.settings().model_dump()
    data["apply"]["backup_dir"] = str(backups)
    config.write_text(yaml.safe_dump(data))
    before = tree_sums(site)

    code, outcome, stderr = playbook(config, "wp-swap-test", f"packages={HELLO}", "fail_after=true")
    assert code == 4 and outcome["status"] == "rolled_back", stderr
    assert tree_sums(site) == before and "Version: 1.7.2" in hello.read_text()

    code, outcome, stderr = playbook(config, "wp-swap-test", f"packages={HELLO}")
    assert code == 0 and outcome["status"] == "succeeded", stderr
    assert hello.read_text() == hello_php(HELLO_NEW)
    changed = {k for k, v in tree_sums(site).items() if before.get(k) != v}
    assert changed == {"wp-content/plugins/hello.php"}  # a file, still a file, nothing else
    kept = list(backups.glob("blog/*/.tma-swap-*-old/hello.php"))
    assert len(kept) == 1 and "Version: 1.7.2" in kept[0].read_text()
    assert not list((site / "wp-content" / "plugins").glob(".tma-swap-*"))
    assert f"Swapped in: plugin hello {HELLO_NEW}" in outcome["notes"]


def test_single_file_plugin_whose_package_is_a_folder_becomes_one(
    site: Path, tmp_path: Path, api: WordPressAPI
) -> None:
    plugins = site / "wp-content" / "plugins"
    with_hello(site)
    folder = {"hello/hello.php": hello_php(HELLO_NEW), "hello/readme.txt": "=== Hello ===\n"}
    api.server.routes["/release/hello.zip"] = Reply(zip_of(folder))
    config = write_config(tmp_path, site, api)
    before = tree_sums(site)

    code, outcome, stderr = playbook(config, "wp-swap-test", f"packages={HELLO}", "fail_after=true")
    assert code == 4 and outcome["status"] == "rolled_back", stderr
    assert tree_sums(site) == before and not (plugins / "hello").exists()

    code, outcome, stderr = playbook(config, "wp-swap-test", f"packages={HELLO}")
    assert code == 0, stderr
    assert not (plugins / "hello.php").exists()
    assert (plugins / "hello" / "hello.php").read_text() == hello_php(HELLO_NEW)
    assert (plugins / "hello" / "readme.txt").is_file()
    assert any("hello.php is now the folder plugin hello/hello.php" in n for n in outcome["notes"])
    kept = list((tmp_path / "backups").glob("blog/*/.tma-swap-*-old/hello.php"))
    assert len(kept) == 1 and "Version: 1.7.2" in kept[0].read_text()


@pytest.mark.parametrize(
    ("members", "refusal"),
    [
        ({"hello.php": hello_php("9.9.9")}, "hello.php declares Version '9.9.9', not 5.0.3"),
        ({"other.php": hello_php(HELLO_NEW)}, "expected hello.php or one directory hello/"),
        ({"hello.php": hello_php(HELLO_NEW), "/etc/cron.d/x": "* * * * * root id\n"},
         "(absolute path)"),
        ({"hello.php": hello_php(HELLO_NEW), "../../../x.php": "<?php\n"}, "(path traversal)"),
        ({"hello/readme.txt": "no main file\n"}, "hello/ has no main file with a Plugin Name"),
    ],
)  # fmt: skip
def test_single_file_packages_are_checked_before_anything_is_touched(
    site: Path, tmp_path: Path, api: WordPressAPI, members: dict[str, str], refusal: str
) -> None:
    with_hello(site)
    api.server.routes["/release/hello.zip"] = Reply(zip_of(members))
    config = write_config(tmp_path, site, api)
    before = tree_sums(site)
    code, outcome, stderr = playbook(config, "wp-swap-test", f"packages={HELLO}")
    assert code == 4 and outcome["status"] == "refused", stderr
    assert refusal in outcome["error"] and "Traceback" not in stderr
    assert tree_sums(site) == before
    assert not list(tmp_path.rglob("x.php")) and not (tmp_path / "backups").exists()


def test_a_symlink_in_a_single_file_package_is_refused(
    site: Path, tmp_path: Path, api: WordPressAPI
) -> None:
    with_hello(site)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        link = zipfile.ZipInfo("hello.php")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zipped.writestr(link, "/etc/passwd")
    api.server.routes["/release/hello.zip"] = Reply(buffer.getvalue())
    config = write_config(tmp_path, site, api)
    before = tree_sums(site)
    code, outcome, _ = playbook(config, "wp-swap-test", f"packages={HELLO}")
    assert code == 4 and "a symlink" in outcome["error"]
    assert tree_sums(site) == before
    # Neither a file nor a folder of that name: still refused at preflight, naming the path.
    (site / "wp-content" / "plugins" / "hello.php").unlink()
    code, outcome, _ = playbook(config, "wp-swap-test", f"packages={HELLO}")
    assert code == 4 and "no such plugin directory or file" in outcome["error"]
