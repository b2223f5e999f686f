"""Globs read ahead in the detection round trip (`read_many(prefetch=...)`): a later
`read_glob` it covers is answered from it exactly as the host answers it, over both twins, on
a hostile tree (links leaving it, odd names, a file over the cap); anything else is asked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tma_agent.hosts import GlobRequest, Host, LocalHost, SSHHost, TreePolicy, merge_requests
from tma_agent.testing.sshd import SSHServer


def _twin(kind: str, sshd: SSHServer, site: Path) -> Host:
    host: Host = (
        LocalHost()
        if kind == "local"
        else SSHHost(sshd.host, port=sshd.port, user=sshd.user, settings=sshd.settings())
    )
    host.tree = TreePolicy(str(site), max_file_bytes=4096)
    return host


@pytest.fixture(params=["local", "ssh"])
def kind(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


def _tree(base: Path) -> Path:
    site, outside = base / "site", base / "outside"
    files = {
        "composer.lock": "{}",
        "web/modules/a/a.info.yml": "name: a\n",
        "web/modules/a/sub/deep/deeper/d.info.yml": "name: d\n",
        "web/modules/two\nlines/two\nlines.info.yml": "name: t\n",
        "web/modules/old/old.info": "name = old\n",
        "web/modules/big/big.info.yml": "x" * 5000,
        "web/themes/t/t.info.yml": "name: t\n",
        "sites/all/modules/s/s.info": "name = s\n",
    }
    for name, text in files.items():
        path = site / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (outside / "x").mkdir(parents=True)
    (outside / "x" / "x.info.yml").write_text("name: SECRET\n")
    (site / "web/modules/leaky").symlink_to(outside / "x")
    (site / "web/modules/leak.info.yml").symlink_to(outside / "x" / "x.info.yml")
    for path in [site, *site.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    return site


QUESTIONS = [
    (["web/modules", "web/themes"], ["*.info.yml"], 6),
    (["web/modules"], ["*.info"], 6),
    (["web/modules"], ["*.info.yml"], 2),  # shallower than read ahead
    (["sites/all/modules", "modules"], ["*.info", "*.info.yml"], 6),  # a root that is not there
]


def test_covered_globs_are_answered_as_the_host_answers(
    kind: str, sshd: SSHServer, tmp_path: Path
) -> None:
    site = _tree(sshd.make_shared_dir())
    ahead = merge_requests(
        [
            GlobRequest(("web/modules", "web/themes", "modules"), ("*.info.yml", "*.info"), 6),
            GlobRequest(("sites/all/modules",), ("*.info",), 3),
        ],
        str(site),
    )
    assert ahead is not None and ahead.max_depth == 6
    detect = [f"{site}/composer.lock", f"{site}/web/core/lib/Drupal.php"]
    reader, asked = _twin(kind, sshd, site), _twin(kind, sshd, site)
    try:
        files = reader.read_many(detect, prefetch=ahead)
        assert files == asked.read_many(detect) == {detect[0]: "{}", detect[1]: None}
        assert reader.round_trips == 1
        for roots, names, depth in QUESTIONS:
            absolute = [f"{site}/{r}" for r in roots]
            served = reader.read_glob(absolute, names, max_depth=depth)
            real = asked.read_glob(absolute, names, max_depth=depth)
            assert (served, served.problems) == (real, real.problems), (roots, names, depth)
        assert reader.round_trips == 1  # every question above came from the read ahead
        leaving = "symlink leaving the site tree"
        modules = f"{site}/web/modules"
        first = reader.read_glob([modules], ["*.info.yml"], max_depth=6)
        assert first.problems == {
            f"{modules}/leaky": leaving,
            f"{modules}/leak.info.yml": leaving,
            f"{modules}/big/big.info.yml": "larger than 4 KiB (limits.max_file_bytes)",
        }
        assert f"{modules}/two\nlines/two\nlines.info.yml" in first
        assert not any("SECRET" in text for text in first.values())
        # Not covered: a deeper walk, another name, a root not read ahead, other max_bytes.
        for roots, names, depth, max_bytes in [
            (["web/modules"], ["*.info.yml"], 7, 0),
            (["web/modules"], ["*.php"], 6, 0),
            (["web"], ["*.info.yml"], 6, 0),
            (["web/modules"], ["*.info.yml"], 6, 10),
        ]:
            before = reader.round_trips
            absolute = [f"{site}/{r}" for r in roots]
            served = reader.read_glob(absolute, names, max_depth=depth, max_bytes=max_bytes)
            assert reader.round_trips == before + 1
            real = asked.read_glob(absolute, names, max_depth=depth, max_bytes=max_bytes)
            assert (served, served.problems) == (real, real.problems)
    finally:
        reader.close()
        asked.close()


def test_requests_with_different_max_bytes_are_not_merged() -> None:
    requests = [GlobRequest(("a",), ("*.x",), 2), GlobRequest(("b",), ("*.y",), 2, max_bytes=10)]
    assert merge_requests(requests, "/site") is None
    assert merge_requests([], "/site") is None
    merged = merge_requests([GlobRequest(("a/../b", "c"), ("*.x",), 2)], "/site")
    assert merged == GlobRequest(("/site/b", "/site/c"), ("*.x",), 2)


def test_detection_files_read_with_the_globs_are_read_as_read_many_reads_them(
    kind: str, sshd: SSHServer
) -> None:
    """READ_BOTH hands the detection files to the glob's one `find`: whatever they are (pattern
    characters in the name, inside a glob root, unreadable, a directory, a FIFO, over the cap, a
    link leaving the tree), each is answered as READ_MANY answers it, and none of them leaks into
    a glob answer it would not be part of."""
    site = _tree(sshd.make_shared_dir())
    odd = site / "[a]*?\\x.lock"
    odd.write_text("odd")
    secret = site / "web/modules/a/secret.txt"
    secret.write_text("s")
    secret.chmod(0o600)  # root-owned: unreadable for the SSH user only
    os.mkfifo(site / "web/modules/a/pipe")
    (site / "leak.lock").symlink_to(site.parent / "outside/x/x.info.yml")
    detect = [
        str(odd),
        f"{site}/[a]*?",  # a pattern that would match the odd name: not a file
        f"{site}/composer.lock",
        f"{site}/web/modules/a/a.info.yml",  # a glob result too
        str(secret),
        f"{site}/web/modules/a/pipe",
        f"{site}/web/modules/a",  # a directory
        f"{site}/web/modules/big/big.info.yml",  # over the 4 KiB cap
        f"{site}/leak.lock",
        f"{site}/web/modules/leak.info.yml",  # leaving, and a glob result's problem too
        f"{site}/missing",
    ]
    ahead = merge_requests([GlobRequest(("web/modules",), ("*.info.yml",), 6)], str(site))
    assert ahead is not None
    reader, asked = _twin(kind, sshd, site), _twin(kind, sshd, site)
    try:
        files = reader.read_many(detect, prefetch=ahead)
        real = asked.read_many(detect)
        assert (files, files.problems) == (real, real.problems)
        assert files[str(odd)] == "odd" and files[f"{site}/[a]*?"] is None
        assert files[f"{site}/web/modules/a/a.info.yml"] == "name: a\n"
        assert "SECRET" not in str(files)
        modules = f"{site}/web/modules"
        served = reader.read_glob([modules], ["*.info.yml"], max_depth=6)
        glob = asked.read_glob([modules], ["*.info.yml"], max_depth=6)
        assert (served, served.problems) == (glob, glob.problems)
        assert str(secret) not in served.problems and f"{site}/leak.lock" not in served.problems
        assert reader.round_trips == 1
    finally:
        reader.close()
        asked.close()
