"""The private key is parsed once per process, not once per site, and again when it changes;
a key paramiko must read itself (a passphrase) still gives paramiko's own answer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tma_agent.errors import HostKeyError, UnreachableError
from tma_agent.hosts import SSHHost, _ssh
from tma_agent.testing.sshd import SSHServer


def _echo(sshd: SSHServer, key: Path) -> bytes:
    host = SSHHost(
        sshd.host, port=sshd.port, user=sshd.user, settings=sshd.settings(key_file=str(key))
    )
    try:
        return host.run(["echo", "ok"]).stdout
    finally:
        host.close()


def test_key_parsed_once_and_again_after_a_change(sshd: SSHServer, tmp_path: Path) -> None:
    key = tmp_path / "id"
    shutil.copyfile(sshd.client_key_path, key)
    key.chmod(0o600)
    assert _echo(sshd, key) == b"ok\n"
    first = _ssh._KEYS[str(key)][1]
    assert _echo(sshd, key) == b"ok\n"
    assert _ssh._KEYS[str(key)][1] is first  # the second site reused the parsed key
    # Another key in the same file (not authorized): parsed again, so login fails.
    key.unlink()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    with pytest.raises(UnreachableError, match="authentication failed"):
        _echo(sshd, key)
    assert _ssh._KEYS[str(key)][1] is not first


def test_passphrase_key_is_left_to_paramiko(sshd: SSHServer, tmp_path: Path) -> None:
    key = tmp_path / "locked"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(key)], check=True
    )
    with pytest.raises(UnreachableError, match="authentication failed"):
        _echo(sshd, key)
    assert str(key) not in _ssh._KEYS


def _run_true(sshd: SSHServer, known_hosts: Path) -> None:
    host = SSHHost(
        sshd.host,
        port=sshd.port,
        user=sshd.user,
        settings=sshd.settings(known_hosts=str(known_hosts)),
    )
    try:
        host.run(["true"])
    finally:
        host.close()


def test_known_hosts_parsed_once_and_again_after_a_change(sshd: SSHServer, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    lines = sshd.known_hosts_path.read_text()
    # Other hosts' lines around ours, one of them hashed as `HashKnownHosts yes` writes them.
    other = (
        "|1|c2FsdHNhbHRzYWx0c2FsdHNhbHQ=|aGFzaGhhc2hoYXNoaGFzaGhhc2g= " + lines.split(None, 1)[1]
    )
    known.write_text(f"web9.example {lines.split(None, 1)[1]}{other}{lines}")
    _run_true(sshd, known)
    first = _ssh._KNOWN_HOSTS[str(known)][1]
    _run_true(sshd, known)
    assert _ssh._KNOWN_HOSTS[str(known)][1] is first  # the second site reused the parse
    # The file now holds another key for this host: parsed again, and the change is refused.
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True
    )
    kind, blob = (tmp_path / "k.pub").read_text().split()[:2]
    known.write_text(f"[127.0.0.1]:{sshd.port} {kind} {blob}\n")
    with pytest.raises(HostKeyError, match="HOST KEY CHANGED"):
        _run_true(sshd, known)
    # Hashed, as ssh-keygen -H leaves it: still this host's key.
    known.write_text(lines)
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(known)], check=True, capture_output=True)
    assert "|1|" in known.read_text()
    _run_true(sshd, known)
