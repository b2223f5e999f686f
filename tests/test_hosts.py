"""Both host twins against real targets: the local machine and a real OpenSSH sshd.

The parity tests run the same assertions on `local` and `ssh`: a site read over SSH must give
exactly what the same site read locally gives.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest
import structlog

from tma_agent.errors import HostError, HostKeyError, UnreachableError
from tma_agent.hosts import (
    GlobRequest,
    Host,
    HostSpec,
    LocalHost,
    SSHHost,
    open_host,
    parse_host,
)
from tma_agent.testing.sshd import SSHServer

# Names a hostile site or feed could hand us: each must stay one literal argument.
EVIL = [
    "with space",
    "single'quote",
    'double"quote',
    "back`ticks`",
    "semi;colon",
    "new\nline",
    "dollar$HOME",
    "glob*?[a]",
    "-dash-first",
    "trailing\\",
]


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    path.chmod(0o644)
    return path


def _other_key(directory: Path) -> Path:
    key = directory / "other_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
        check=True,
        capture_output=True,
    )
    return key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- run -----------------------------------------------------------------------------------------
def test_run_argv_exit_code_stdout_stderr(host: Host) -> None:
    result = host.run(["sh", "-c", "printf out; printf err >&2; exit 3"], check=False)
    assert (result.exit_code, result.stdout, result.stderr) == (3, b"out", b"err")
    assert not result.ok
    with pytest.raises(HostError, match="err"):
        host.run(["sh", "-c", "printf err >&2; exit 3"])
    ok = host.run(["echo", "hello", "world"])
    assert ok.ok and ok.stdout == b"hello world\n" and ok.text == "hello world\n"
    assert ok.command == "echo hello world"


def test_run_string_is_a_shell_line(host: Host) -> None:
    assert host.run("echo $((1 + 2)) | tr 3 x").stdout == b"x\n"


def test_run_stdin(host: Host) -> None:
    data = b"abc\0\xff\n" * 3
    assert host.run(["cat"], stdin=data).stdout == data
    big = os.urandom(3 * 1024 * 1024)
    # Large stdin while the command answers on stdout: both directions must flow.
    assert host.run(["cat"], stdin=big).stdout == big


def test_large_output_both_streams(host: Host) -> None:
    result = host.run(["sh", "-c", "head -c 20000000 /dev/zero; head -c 3000000 /dev/zero >&2"])
    assert len(result.stdout) == 20_000_000 and len(result.stderr) == 3_000_000


def test_timeout(host: Host) -> None:
    host.run(["true"])  # connected first: only the command is timed
    started = time.monotonic()
    # An odd duration so pgrep below finds only this test's command, long enough that it
    # cannot end by itself while the test looks.
    seconds = f"60.{time.time_ns() % 10**6:06d}"
    with pytest.raises(HostError, match=r"timed out after 0.5s"):
        host.run(["sleep", seconds], timeout=0.5)
    assert time.monotonic() - started < 10  # not the command's 60 s
    assert host.run(["echo", "still", "usable"]).stdout == b"still usable\n"
    # The timed-out command was killed, not left running on the host (the kill is
    # asynchronous: give it a moment on a loaded machine).
    deadline = time.monotonic() + 15
    while host.run(["pgrep", "-f", f"^sleep {seconds}$"], check=False).ok:
        assert time.monotonic() < deadline, "the timed-out command is still running"
        time.sleep(0.2)


# -- files ---------------------------------------------------------------------------------------
def test_read_many(host: Host, sshd: SSHServer) -> None:
    root = sshd.make_shared_dir()
    binary = b"\x00\x01\xff\xfe caf\xc3\xa9\n"
    big = ("0123456789abcde\n" * (3 * 1024 * 1024 // 16)).encode()
    _write(root / "a.txt", "hello\n")
    _write(root / "bin.dat", binary)
    _write(root / "big.txt", big)
    _write(root / "empty", b"")
    (root / "dir").mkdir()
    paths = [str(root / n) for n in ("a.txt", "bin.dat", "big.txt", "empty", "missing", "dir")]
    files = host.read_many(paths)
    assert files == {
        paths[0]: "hello\n",
        paths[1]: binary.decode("utf-8", errors="replace"),
        paths[2]: big.decode(),
        paths[3]: "",
        paths[4]: None,
        paths[5]: None,
    }
    assert host.read_many([paths[2]], max_bytes=20) == {paths[2]: "0123456789abcde\n0123"}
    assert host.read_text(paths[0]) == "hello\n"
    with pytest.raises(HostError, match="cannot read"):
        host.read_text(paths[4])
    assert host.read_many([]) == {}


def test_read_glob(host: Host, sshd: SSHServer) -> None:
    root = sshd.make_shared_dir()
    site, other = root / "site", root / "other"
    _write(site / "composer.json", "top")
    _write(site / "a" / "composer.json", "a")
    _write(site / "a" / "b" / "c" / "composer.json", "deep")
    _write(site / "a" / "x.info.yml", "name: x\n" + "pad\n" * 100)
    _write(site / "a" / "ignored.txt", "no")
    _write(other / "mod" / "composer.json", "linked")
    (site / "link").symlink_to(other)
    roots = [str(site), str(root / "missing-root")]
    names = ["composer.json", "*.info.yml"]
    found = host.read_glob(roots, names)
    assert found == {
        f"{site}/composer.json": "top",
        f"{site}/a/composer.json": "a",
        f"{site}/a/b/c/composer.json": "deep",
        f"{site}/a/x.info.yml": "name: x\n" + "pad\n" * 100,
        f"{site}/link/mod/composer.json": "linked",
    }
    shallow = host.read_glob(roots, names, max_depth=2)
    assert set(shallow) == {
        f"{site}/composer.json",
        f"{site}/a/composer.json",
        f"{site}/a/x.info.yml",
    }
    assert host.read_glob([str(site)], ["*.info.yml"], max_bytes=8) == {
        f"{site}/a/x.info.yml": "name: x\n"
    }
    assert host.glob([str(site)], ["composer.json"], max_depth=1) == [f"{site}/composer.json"]
    assert host.read_glob([str(root / "missing-root")], names) == {}


def test_exists(host: Host, sshd: SSHServer) -> None:
    root = sshd.make_shared_dir()
    _write(root / "f", "x")
    assert host.exists(str(root / "f"))
    assert host.exists(str(root))
    assert not host.exists(str(root / "nope"))


def test_put_get(host: Host, sshd: SSHServer, tmp_path: Path) -> None:
    remote_dir = sshd.make_shared_dir(writable=True)
    payload = os.urandom(1024 * 1024) + b"end"
    source = _write(tmp_path / "up.bin", payload)
    host.put(str(source), str(remote_dir / "up.bin"))
    assert host.run(["wc", "-c", str(remote_dir / "up.bin")]).text.split()[0] == str(len(payload))
    host.get(str(remote_dir / "up.bin"), str(tmp_path / "down.bin"))
    assert (tmp_path / "down.bin").read_bytes() == payload


# -- quoting -------------------------------------------------------------------------------------
def test_arguments_are_data_never_code(host: Host, sshd: SSHServer) -> None:
    root = sshd.make_shared_dir(writable=True)
    marker = root / "pwned"
    hostile = [
        *EVIL,
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"x; touch {marker}",
        f"x\ntouch {marker}",
        f"x && touch {marker} #",
        f"'; touch {marker}; '",
        # The read programs keep arguments as references ("${3}") for one `eval set --`: a
        # name that looks like one is still its own text.
        "ref${1}",
        '"${2}"',
    ]
    echoed = host.run(["printf", "%s\\0", *hostile]).stdout
    assert echoed.split(b"\0")[:-1] == [arg.encode() for arg in hostile]
    # The same names as files: read, probed and globbed without anything running.
    for name in hostile:
        if "/" not in name:
            _write(root / name, f"content of {name}")
    paths = [str(root / name) for name in hostile if "/" not in name]
    assert host.read_many(paths) == {p: f"content of {Path(p).name}" for p in paths}
    assert all(host.exists(p) for p in paths)
    # read_glob names are shell patterns (`*?[`, `\\` are not literal): those stay out of this
    # check. Framing is by NUL, so a name with a newline is found like any other.
    literal = [p for p in paths if not any(c in Path(p).name for c in "*?[\\")]
    assert set(host.read_glob([str(root)], [Path(p).name for p in paths])) == set(literal)
    assert host.read_many([f"{root}/$(touch {marker})/x"]) == {f"{root}/$(touch {marker})/x": None}
    # Detection files and a glob read ahead in one session (READ_BOTH), with the same names.
    ahead = GlobRequest((str(root),), tuple(Path(p).name for p in literal), 1)
    trips = host.round_trips
    assert host.read_many(paths, prefetch=ahead) == {p: f"content of {Path(p).name}" for p in paths}
    assert set(host.read_glob([str(root)], [Path(p).name for p in literal], max_depth=1)) == set(
        literal
    )
    assert host.round_trips == trips + 1  # read_glob was answered from the read-ahead
    assert not marker.exists()


# -- SSH host keys -------------------------------------------------------------------------------
def test_unknown_host_key_refused(sshd: SSHServer, tmp_path: Path) -> None:
    known = _write(tmp_path / "known_hosts", "")
    host = SSHHost(
        sshd.host, port=sshd.port, user=sshd.user, settings=sshd.settings(known_hosts=str(known))
    )
    with pytest.raises(HostKeyError) as caught:
        host.run(["true"])
    message = str(caught.value)
    assert f"[127.0.0.1]:{sshd.port}" in message
    assert sshd.host_key_fingerprint in message and "ssh-ed25519" in message
    assert str(known) in message
    assert host.connections == 0


def test_missing_known_hosts_file_refused(sshd: SSHServer, tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "known_hosts"
    settings = sshd.settings(known_hosts=str(missing))
    with pytest.raises(HostKeyError, match="does not exist") as caught:
        SSHHost(sshd.host, port=sshd.port, user=sshd.user, settings=settings).run(["true"])
    assert str(missing) in str(caught.value)
    assert sshd.host_key_fingerprint in str(caught.value)


def test_changed_host_key_refused(sshd: SSHServer, tmp_path: Path) -> None:
    other = _other_key(tmp_path)
    kind, blob = other.with_suffix(".pub").read_text().split()[:2]
    known = _write(tmp_path / "known_hosts", f"[127.0.0.1]:{sshd.port} {kind} {blob}\n")
    expected = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(other.with_suffix(".pub"))],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[1]
    settings = sshd.settings(known_hosts=str(known))
    with pytest.raises(HostKeyError, match="CHANGED") as caught:
        SSHHost(sshd.host, port=sshd.port, user=sshd.user, settings=settings).run(["true"])
    message = str(caught.value)
    assert f"[127.0.0.1]:{sshd.port}" in message
    assert expected in message and sshd.host_key_fingerprint in message


def test_strict_off_connects_and_warns(sshd: SSHServer, tmp_path: Path) -> None:
    known = _write(tmp_path / "known_hosts", "")
    settings = sshd.settings(known_hosts=str(known), strict_host_keys=False)
    with (
        structlog.testing.capture_logs() as logs,
        SSHHost(sshd.host, port=sshd.port, user=sshd.user, settings=settings) as host,
    ):
        assert host.run(["echo", "ok"]).stdout == b"ok\n"
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["host"] == f"[127.0.0.1]:{sshd.port}"
    assert warnings[0]["fingerprint"] == sshd.host_key_fingerprint
    assert known.read_text() == ""  # accepting is not trusting: nothing written


# -- SSH reachability ----------------------------------------------------------------------------
def test_refused_port_is_unreachable_quickly(sshd: SSHServer) -> None:
    port = _free_port()
    host = SSHHost("127.0.0.1", port=port, user="deploy", settings=sshd.settings())
    started = time.monotonic()
    with pytest.raises(UnreachableError, match=re.escape(f"deploy@127.0.0.1:{port}")) as caught:
        host.run(["true"])
    assert time.monotonic() - started < 3
    assert "\n" not in str(caught.value)
    assert not isinstance(caught.value, HostKeyError)


def test_silent_server_times_out(sshd: SSHServer) -> None:
    # A listener that accepts TCP but never says the SSH banner: only the timeout can end it.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        settings = sshd.settings(connect_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(UnreachableError, match=re.escape(f"127.0.0.1:{port}")):
            SSHHost("127.0.0.1", port=port, user="deploy", settings=settings).run(["true"])
        assert time.monotonic() - started < 5


def test_unknown_hostname_is_unreachable(sshd: SSHServer) -> None:
    host = SSHHost("no-such-host.invalid", user="deploy", settings=sshd.settings())
    with pytest.raises(UnreachableError, match=re.escape("deploy@no-such-host.invalid:22")):
        host.run(["true"])


def test_bad_user_key_is_unreachable(sshd: SSHServer, tmp_path: Path) -> None:
    settings = sshd.settings(key_file=str(_other_key(tmp_path)))
    host = SSHHost(sshd.host, port=sshd.port, user=sshd.user, settings=settings)
    with pytest.raises(UnreachableError, match="authentication failed") as caught:
        host.run(["true"])
    assert f"{sshd.user}@127.0.0.1:{sshd.port}" in str(caught.value)
    assert not isinstance(caught.value, HostKeyError)


def test_missing_user_key_is_unreachable(sshd: SSHServer, tmp_path: Path) -> None:
    settings = sshd.settings(key_file=str(tmp_path / "no_such_key"))
    host = SSHHost(sshd.host, port=sshd.port, user=sshd.user, settings=settings)
    with pytest.raises(UnreachableError, match="no_such_key does not exist"):
        host.run(["true"])


# -- SSH connection reuse ------------------------------------------------------------------------
def test_one_connection_for_everything(ssh_host: SSHHost, sshd: SSHServer, tmp_path: Path) -> None:
    before = sshd.accepted_logins()
    root = sshd.make_shared_dir(writable=True)
    _write(root / "f", "data")
    ssh_host.run(["true"])
    transport = ssh_host.transport
    for i in range(25):
        assert ssh_host.run(["echo", str(i)]).stdout == f"{i}\n".encode()
    ssh_host.read_many([str(root / "f")])
    ssh_host.read_glob([str(root)], ["f"])
    ssh_host.put(str(_write(tmp_path / "up", "u")), str(root / "up"))
    ssh_host.get(str(root / "up"), str(tmp_path / "down"))
    ssh_host.get(str(root / "f"), str(tmp_path / "f"))
    assert ssh_host.transport is transport
    assert ssh_host.connections == 1
    assert ssh_host.round_trips == 26 + 2 + 3
    assert sshd.accepted_logins() - before == 1
    ssh_host.close()
    assert not transport.is_active()


def test_dropped_connection_is_an_error(ssh_host: SSHHost) -> None:
    # $PPID is the sshd session process: killing it cuts the connection mid-command.
    with pytest.raises(HostError, match="connection lost"):
        ssh_host.run("kill -9 $PPID; sleep 5")
    # The next command reconnects rather than failing for the rest of the run.
    assert ssh_host.run(["echo", "back"]).stdout == b"back\n"
    assert ssh_host.connections == 2


def test_ssh_get_missing_file(ssh_host: SSHHost, sshd: SSHServer, tmp_path: Path) -> None:
    with pytest.raises(HostError, match="cannot get"):
        ssh_host.get(str(sshd.make_shared_dir() / "missing"), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_ssh_name(sshd: SSHServer) -> None:
    host = SSHHost("web1", port=2222, user="deploy", settings=sshd.settings())
    assert host.name == "deploy@web1:2222"
    assert host.connections == 0  # lazily connected: nothing happened yet


# -- host specs ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("local", HostSpec("local", None, "localhost", None)),
        ("ssh://deploy@web1:2222", HostSpec("ssh", "deploy", "web1", 2222)),
        ("ssh://web1.example.com", HostSpec("ssh", None, "web1.example.com", 22)),
        ("ssh://deploy@10.0.0.5", HostSpec("ssh", "deploy", "10.0.0.5", 22)),
        ("ssh://[::1]:2200", HostSpec("ssh", None, "::1", 2200)),
        (" ssh://web1/ ", HostSpec("ssh", None, "web1", 22)),
    ],
)
def test_parse_host_valid(spec: str, expected: HostSpec) -> None:
    assert parse_host(spec) == expected


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("ftp://x", "unsupported scheme 'ftp'"),
        ("ssh://", "host name"),
        ("ssh://web1:abc", "port"),
        ("ssh://web1:70000", "port"),
        ("ssh://web1:0", "port"),
        ("ssh://u:secret@web1", "password"),
        ("ssh://web1/var/www", "path"),
        ("web1", "expected `local`"),
        ("", "expected `local`"),
        ("ssh://-oProxyCommand=x", "host name"),
        ("ssh://we b1", "host name"),
        ("ssh://bad user@web1", "user"),
    ],
)
def test_parse_host_invalid(spec: str, reason: str) -> None:
    with pytest.raises(ValueError, match="invalid host") as caught:
        parse_host(spec)
    assert reason in str(caught.value)


def test_open_host(sshd: SSHServer) -> None:
    assert isinstance(open_host("local", sshd.settings()), LocalHost)
    with open_host(f"ssh://{sshd.user}@127.0.0.1:{sshd.port}", sshd.settings()) as host:
        assert isinstance(host, SSHHost)
        assert host.name == f"{sshd.user}@127.0.0.1:{sshd.port}"
        assert host.run(["echo", "via", "spec"]).stdout == b"via spec\n"


def test_sshd_server_restarts_on_fresh_port() -> None:
    with SSHServer() as server:
        port = server.port
        assert port != 22
        assert server.host_key_line.startswith(f"[127.0.0.1]:{port} ssh-ed25519 AAAA")
        assert server.known_hosts_path.read_text().strip() == server.host_key_line
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
