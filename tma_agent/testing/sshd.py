"""A real OpenSSH sshd on 127.0.0.1 for tests: own config, own keys, a free port, never port 22.

Run as root, it logs in a dedicated unprivileged user `tma-test` (so tests exercise real
permissions); run as a normal user, sshd can only log in that user, so that is the one used.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tma_agent.hosts._settings import SSHSettings

__all__ = ["SSHD_BINARY", "TEST_USER", "SSHServer"]

SSHD_BINARY = "/usr/sbin/sshd"
TEST_USER = "tma-test"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _ensure_test_user() -> str:
    """Create `tma-test` once; parallel test sessions may race, so re-check after a failure."""
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        proc = subprocess.run(
            ["useradd", "-m", "-s", "/bin/sh", TEST_USER], capture_output=True, check=False
        )
        if proc.returncode != 0:
            pwd.getpwnam(TEST_USER)  # raises if the user really could not be made
    # useradd leaves the account locked ('!'); with UsePAM no sshd then refuses even keys.
    subprocess.run(["usermod", "-p", "*", TEST_USER], capture_output=True, check=True)
    return TEST_USER


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )


class SSHServer:
    """Start with `start()` (or as a context manager); `stop()` kills sshd and frees the port."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.is_root = os.geteuid() == 0
        self.user = _ensure_test_user() if self.is_root else pwd.getpwuid(os.getuid()).pw_name
        self._pw = pwd.getpwnam(self.user)
        self.dir = Path(tempfile.mkdtemp(prefix="tma-sshd-"))
        # The login user must traverse this dir to reach its authorized keys and shared dirs.
        self.dir.chmod(0o755)
        self.log_path = self.dir / "sshd.log"
        self.config_path = self.dir / "sshd_config"
        self.host_key_path = self.dir / "host_ed25519"
        self.client_key_path = self.dir / "client_ed25519"
        self.known_hosts_path = self.dir / "known_hosts"
        self.host_key_line = ""
        self.host_key_fingerprint = ""
        self._shared_base = self.dir / "shared"
        self._proc: subprocess.Popen[bytes] | None = None
        self._make_keys()

    def _make_keys(self) -> None:
        _keygen(self.host_key_path, "tma-test-host")
        _keygen(self.client_key_path, "tma-test-client")
        keys = self.dir / "keys"
        keys.mkdir(mode=0o755)
        authorized = keys / self.user
        shutil.copyfile(self.client_key_path.with_suffix(".pub"), authorized)
        # sshd reads authorized keys as the target user: it must own the file, mode 600.
        os.chown(authorized, self._pw.pw_uid, self._pw.pw_gid)
        authorized.chmod(0o600)
        listing = subprocess.run(
            ["ssh-keygen", "-l", "-f", str(self.host_key_path.with_suffix(".pub"))],
            check=True,
            capture_output=True,
            text=True,
        )
        self.host_key_fingerprint = listing.stdout.split()[1]
        self._shared_base.mkdir(mode=0o755)

    def _write_config(self) -> None:
        self.config_path.write_text(
            "\n".join(
                [
                    "ListenAddress 127.0.0.1",
                    f"Port {self.port}",
                    f"HostKey {self.host_key_path}",
                    f"PidFile {self.dir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.dir / 'keys'}/%u",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin no",
                    "UsePAM no",
                    # Keys live under /tmp, whose ownership StrictModes would reject.
                    "StrictModes no",
                    "Subsystem sftp internal-sftp",
                    "LogLevel INFO",
                    "MaxStartups 100:30:200",
                    "",
                ]
            )
        )
        host_pub = self.host_key_path.with_suffix(".pub").read_text().split()
        self.host_key_line = f"[{self.host}]:{self.port} {host_pub[0]} {host_pub[1]}"
        self.known_hosts_path.write_text(self.host_key_line + "\n")

    def start(self, *, wait: float = 10.0) -> SSHServer:
        if self.is_root:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
        last_error = ""
        # A free port can be taken between probing and binding: retry with a new one.
        for _attempt in range(3):
            self.port = _free_port()
            self._write_config()
            check = subprocess.run(
                [SSHD_BINARY, "-t", "-f", str(self.config_path)],
                capture_output=True,
                text=True,
                check=False,
            )
            if check.returncode != 0:
                raise RuntimeError(f"sshd -t rejected {self.config_path}: {check.stderr.strip()}")
            self._proc = subprocess.Popen(
                [SSHD_BINARY, "-D", "-f", str(self.config_path), "-E", str(self.log_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and self._proc.poll() is None:
                if _port_open(self.port):
                    return self
                time.sleep(0.05)
            self._kill()
            last_error = self.log_path.read_text() if self.log_path.exists() else ""
        raise RuntimeError(f"sshd did not start on 127.0.0.1: {last_error.strip()[-500:]}")

    def _kill(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._proc = None

    def stop(self) -> None:
        self._kill()
        # A killed daemon may linger as a zombie: the port closing is the real signal.
        deadline = time.monotonic() + 10
        while self.port and _port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def cleanup(self) -> None:
        """Stop and delete the config, keys and shared dirs."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> SSHServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    # -- helpers for tests ---------------------------------------------------------------------
    def settings(self, **overrides: Any) -> SSHSettings:
        """Strict settings that trust exactly this server's key and log in with the test key."""
        values: dict[str, Any] = {
            "key_file": str(self.client_key_path),
            "known_hosts": str(self.known_hosts_path),
            "connect_timeout": 5.0,
            "command_timeout": 60.0,
            "strict_host_keys": True,
            # A developer's ssh-agent must not decide whether a test passes.
            "use_agent": False,
        }
        values.update(overrides)
        return SSHSettings(**values)

    def make_shared_dir(self, *, writable: bool = False) -> Path:
        """A fresh dir the ssh user can read (pytest's tmp_path is root-only, mode 700);
        `writable` also hands it to the ssh user, e.g. for SFTP uploads."""
        path = Path(tempfile.mkdtemp(dir=self._shared_base))
        path.chmod(0o755)
        if writable and self.is_root:
            os.chown(path, self._pw.pw_uid, self._pw.pw_gid)
        return path

    def accepted_logins(self) -> int:
        """How many logins sshd accepted so far (one per SSH connection)."""
        with contextlib.suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace").count("Accepted publickey")
        return 0
