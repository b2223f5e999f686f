"""The private key is parsed once per process, not once per site, and again when it changes;
a key paramiko must read itself (a passphrase) still gives paramiko's own answer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tma_agent.errors import UnreachableError
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
