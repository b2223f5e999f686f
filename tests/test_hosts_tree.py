"""Hostile site trees, read by both twins: odd names, huge, unreadable and escaping files.

Over SSH the reader is the unprivileged `tma-test`, so root-owned mode-600 files are really
unreadable there, while the local twin (root) reads them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tma_agent.errors import HostError
from tma_agent.hosts import DEFAULT_MAX_FILE_BYTES, Host, LocalHost, SSHHost, TreePolicy
from tma_agent.hosts._programs import decode_frames
from tma_agent.testing.sshd import SSHServer

LEAVING = "symlink leaving the site tree"


def _write(path: Path, data: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    for parent in path.parents:
        if parent.name.startswith("tma-sshd-"):
            break
        parent.chmod(0o755)
    path.write_text(data)
    path.chmod(mode)
    return path


def test_newlines_in_site_path_and_names(host: Host, sshd: SSHServer) -> None:
    site = sshd.make_shared_dir() / "site\nwith newline"
    host.tree = TreePolicy(str(site))
    lock = _write(site / "composer.lock", "{}")
    info = _write(site / "modules" / "two\nlines" / "two\nlines.info.yml", "name: x\n")
    plain = _write(site / "modules" / "plain" / "plain.info.yml", "name: plain\n")
    many = host.read_many([str(lock), str(info), str(site / "missing\n")])
    assert many == {str(lock): "{}", str(info): "name: x\n", str(site / "missing\n"): None}
    found = host.read_glob([str(site / "modules")], ["*.info.yml"])
    assert found == {str(info): "name: x\n", str(plain): "name: plain\n"}
    assert found.problems == {}


def test_files_over_the_cap_are_never_read(host: Host, sshd: SSHServer) -> None:
    site = sshd.make_shared_dir()
    small = _write(site / "small.info.yml", "name: small\n")
    big = _write(site / "big.info.yml", "x" * 5000)
    host.tree = TreePolicy(str(site), max_file_bytes=4096)
    reason = "larger than 4 KiB (limits.max_file_bytes)"
    files = host.read_many([str(small), str(big)])
    assert files == {str(small): "name: small\n", str(big): None}
    assert files.problems == {str(big): reason}
    found = host.read_glob([str(site)], ["*.info.yml"])
    assert found == {str(small): "name: small\n"}
    assert found.problems == {str(big): reason}
    # The head of a big file is within the cap: WordPress headers stay readable.
    assert host.read_many([str(big)], max_bytes=10) == {str(big): "x" * 10}


def test_sparse_2gb_lock_costs_neither_memory_nor_time(host: Host, sshd: SSHServer) -> None:
    site = sshd.make_shared_dir()
    lock = site / "composer.lock"
    with lock.open("wb") as handle:
        handle.truncate(2 * 1024**3)
    lock.chmod(0o644)
    host.tree = TreePolicy(str(site))
    host.run(["true"])  # connected first: only the read is timed
    started = time.monotonic()
    files = host.read_many([str(lock)])
    assert time.monotonic() - started < 5  # reading 2 GiB, let alone sending it, takes longer
    assert files == {str(lock): None}
    assert files.problems == {str(lock): "larger than 16 MiB (limits.max_file_bytes)"}
    assert DEFAULT_MAX_FILE_BYTES == 16 * 1024 * 1024


def test_unreadable_files_are_problems_over_ssh(ssh_host: SSHHost, sshd: SSHServer) -> None:
    assert sshd.is_root, "this test needs root: it makes files the SSH user cannot read"
    site = sshd.make_shared_dir()
    secret = _write(site / "modules" / "webform" / "webform.info.yml", "name: w\n", 0o600)
    open_one = _write(site / "modules" / "views" / "views.info.yml", "name: v\n")
    ssh_host.tree = TreePolicy(str(site))
    files = ssh_host.read_many([str(secret), str(open_one)])
    assert files == {str(secret): None, str(open_one): "name: v\n"}
    assert files.problems == {str(secret): "permission denied"}
    found = ssh_host.read_glob([str(site / "modules")], ["*.info.yml"])
    assert found == {str(open_one): "name: v\n"}
    assert found.problems == {str(secret): "permission denied"}
    # The same tree read locally as root: nothing is hidden from root.
    local = LocalHost()
    local.tree = ssh_host.tree
    assert local.read_glob([str(site / "modules")], ["*.info.yml"]) == {
        str(secret): "name: w\n",
        str(open_one): "name: v\n",
    }


def _escaping_tree(base: Path) -> tuple[Path, Path]:
    site, outside = base / "site", base / "elsewhere"
    _write(outside / "secret.php", "<?php // SECRET\n")
    _write(outside / "plugin" / "x.php", "<?php /* Plugin Name: SECRET */\n")
    _write(site / "wp-content" / "plugins" / "real" / "real.php", "<?php // real\n")
    _write(site / "shared" / "lib" / "lib.php", "<?php // lib\n")
    (site / "leak.php").symlink_to(outside / "secret.php")
    (site / "wp-content" / "plugins" / "x").symlink_to(outside / "plugin")
    (site / "wp-content" / "plugins" / "root").symlink_to("/")
    # Links that stay inside the tree keep working.
    (site / "wp-content" / "plugins" / "lib").symlink_to("../../shared/lib")
    (site / "inside.php").symlink_to("shared/lib/lib.php")
    (site / "via").symlink_to(outside)
    return site, outside


def test_symlinks_leaving_the_tree_are_not_followed(host: Host, sshd: SSHServer) -> None:
    site, outside = _escaping_tree(sshd.make_shared_dir())
    host.tree = TreePolicy(str(site))
    wanted = [f"{site}/leak.php", f"{site}/inside.php", f"{site}/via/secret.php"]
    files = host.read_many([*wanted, str(outside / "secret.php")])
    assert files == {
        f"{site}/leak.php": None,
        f"{site}/inside.php": "<?php // lib\n",
        f"{site}/via/secret.php": None,
        str(outside / "secret.php"): None,
    }
    assert files.problems == {
        f"{site}/leak.php": LEAVING,
        f"{site}/via/secret.php": LEAVING,
        str(outside / "secret.php"): LEAVING,
    }
    plugins = site / "wp-content" / "plugins"
    found = host.read_glob([str(plugins)], ["*.php"], max_depth=2)
    assert found == {
        f"{plugins}/real/real.php": "<?php // real\n",
        f"{plugins}/lib/lib.php": "<?php // lib\n",
    }
    assert found.problems == {f"{plugins}/x": LEAVING, f"{plugins}/root": LEAVING}
    everything = host.read_glob([str(site)], ["*.php"], max_depth=4)
    assert not any("SECRET" in text for text in everything.values())
    assert f"{site}/leak.php" in everything.problems


def test_follow_symlinks_reads_through_them(host: Host, sshd: SSHServer) -> None:
    site, _outside = _escaping_tree(sshd.make_shared_dir())
    host.tree = TreePolicy(str(site), follow_symlinks=True)
    files = host.read_many([f"{site}/leak.php", f"{site}/via/secret.php"])
    assert files == {
        f"{site}/leak.php": "<?php // SECRET\n",
        f"{site}/via/secret.php": "<?php // SECRET\n",
    }
    plugins = site / "wp-content" / "plugins"
    found = host.read_glob([str(plugins)], ["x.php"], max_depth=2)
    assert found == {f"{plugins}/x/x.php": "<?php /* Plugin Name: SECRET */\n"}
    assert found.problems == {}


def test_site_root_behind_a_symlink_is_its_tree(host: Host, sshd: SSHServer) -> None:
    # /var/www/site -> /srv/releases/42 is the usual deploy layout: the tree is the target.
    base = sshd.make_shared_dir()
    release = base / "releases" / "42"
    _write(release / "composer.lock", "{}")
    (base / "current").symlink_to(release)
    host.tree = TreePolicy(str(base / "current"))
    lock = f"{base}/current/composer.lock"
    assert host.read_many([lock]) == {lock: "{}"}
    assert host.read_glob([str(base / "current")], ["composer.lock"]) == {lock: "{}"}


def test_fifo_and_devices_are_not_files(host: Host, sshd: SSHServer) -> None:
    site = sshd.make_shared_dir()
    os.mkfifo(site / "composer.lock")
    host.tree = TreePolicy(str(site), follow_symlinks=True)
    (site / "zero").symlink_to("/dev/zero")
    started = time.monotonic()
    files = host.read_many([f"{site}/composer.lock", f"{site}/zero"])
    assert files == {f"{site}/composer.lock": None, f"{site}/zero": None}
    assert time.monotonic() - started < 5


def test_lengths_that_do_not_add_up_are_an_error() -> None:
    # What a file growing (or shrinking) between its record and its read looks like.
    record = b"A\x00/site/composer.lock\x005\x00C\x00"
    assert decode_frames(record + b"12345", 1024, "h").files == {"/site/composer.lock": "12345"}
    for content in (b"1234", b"123456"):
        with pytest.raises(HostError, match="h: files changed while being read"):
            decode_frames(record + content, 1024, "h")


def test_link_into_a_directory_the_user_cannot_enter(ssh_host: SSHHost, sshd: SSHServer) -> None:
    # Issue 6: the whole read_glob failed (`exit status 1`) and the site became `error`.
    assert sshd.is_root, "this test needs root: it makes a directory the SSH user cannot enter"
    base = sshd.make_shared_dir()
    closed = base / "closed"
    _write(closed / "inner" / "x.info.yml", "name: SECRET\n")
    closed.chmod(0o700)  # root-owned: tma-test cannot enter it
    site = base / "site"
    kept = _write(site / "modules" / "kept" / "kept.info.yml", "name: kept\n")
    modules = site / "modules"
    (modules / "gone").symlink_to(closed / "inner")
    (modules / "gone.info.yml").symlink_to(closed / "inner" / "x.info.yml")
    ssh_host.tree = TreePolicy(str(site))
    found = ssh_host.read_glob([str(modules)], ["*.info.yml"])
    assert found == {str(kept): "name: kept\n"}
    assert found.problems == {f"{modules}/gone": LEAVING, f"{modules}/gone.info.yml": LEAVING}
    many = ssh_host.read_many([f"{modules}/gone.info.yml", str(kept)])
    assert many == {f"{modules}/gone.info.yml": None, str(kept): "name: kept\n"}
    assert many.problems == {f"{modules}/gone.info.yml": LEAVING}
    # Followed on purpose, the link is simply not readable by the SSH user.
    ssh_host.tree = TreePolicy(str(site), follow_symlinks=True)
    followed = ssh_host.read_glob([str(modules)], ["*.info.yml"])
    assert followed == {str(kept): "name: kept\n"}
    assert followed.problems == {f"{modules}/gone.info.yml": "permission denied"}


def test_relative_roots_and_paths_starting_with_a_dash(
    host: Host, sshd: SSHServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = sshd.make_shared_dir()
    _write(base / "-name" / "m" / "m.info.yml", "name: m\n")
    _write(base / "(" / "p.info.yml", "name: p\n")
    _write(base / "-delete" / "keep.txt", "keep me\n")
    monkeypatch.chdir(base)  # the local twin's working directory; over SSH, absolute paths
    cwd = str(base) + "/" if isinstance(host, SSHHost) else ""
    host.tree = TreePolicy(str(base) if cwd else ".")
    found = host.read_glob([f"{cwd}-name", f"{cwd}(", f"{cwd}-delete"], ["*.info.yml"])
    assert found == {f"{cwd}-name/m/m.info.yml": "name: m\n", f"{cwd}(/p.info.yml": "name: p\n"}
    kept = f"{cwd}-delete/keep.txt"
    assert host.read_many([kept]) == {kept: "keep me\n"}
    assert (base / "-delete" / "keep.txt").exists()
    if not cwd:  # a relative root that is itself `./x` keeps its form
        nested = host.read_glob(["./-name"], ["m.info.yml"])
        assert nested == {"./-name/m/m.info.yml": "name: m\n"}


def test_directories_the_user_cannot_enter_are_problems(ssh_host: SSHHost, sshd: SSHServer) -> None:
    assert sshd.is_root, "this test needs root: it makes directories the SSH user cannot enter"
    site = sshd.make_shared_dir()
    modules = site / "modules"
    _write(modules / "closed" / "closed.info.yml", "name: closed\n")
    _write(modules / "unlisted" / "unlisted.info.yml", "name: unlisted\n")
    kept = _write(modules / "kept" / "kept.info.yml", "name: kept\n")
    (modules / "closed").chmod(0o700)  # root-owned: neither listed nor entered by tma-test
    (modules / "unlisted").chmod(0o711)  # entered, never listed
    ssh_host.tree = TreePolicy(str(site))
    found = ssh_host.read_glob([str(modules)], ["*.info.yml"])
    assert found == {str(kept): "name: kept\n"}
    assert found.problems == {
        f"{modules}/closed": "permission denied",
        f"{modules}/unlisted": "permission denied",
    }
    local = LocalHost()  # root lists and enters everything
    local.tree = ssh_host.tree
    assert len(local.read_glob([str(modules)], ["*.info.yml"])) == 3
