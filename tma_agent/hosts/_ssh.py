"""The `ssh` twin: sites on remote machines, one paramiko connection per host for the whole run."""

from __future__ import annotations

import base64
import contextlib
import getpass
import hashlib
import os
import select
import socket
import threading
import time
from collections.abc import Sequence

import paramiko
import structlog

from tma_agent.errors import HostError, HostKeyError, UnreachableError
from tma_agent.hosts._base import (
    CommandResult,
    Host,
    login_shell_line,
    quote_command,
    short_command,
)
from tma_agent.hosts._settings import SSHSettings

__all__ = ["SSHHost", "fingerprint"]

# Bigger than paramiko's 2 MB default so multi-megabyte reads (read_many of big files) do not
# stall on window adjustments every few packets.
_WINDOW_SIZE = 16 * 1024 * 1024
_CHUNK = 256 * 1024


def fingerprint(key: paramiko.PKey) -> str:
    """The key's fingerprint exactly as `ssh-keygen -l` prints it (`SHA256:` + unpadded base64)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _known_hosts_name(hostname: str, port: int) -> str:
    # The form OpenSSH (and paramiko) use in known_hosts for a host.
    return hostname if port == 22 else f"[{hostname}]:{port}"


# Private keys parsed once per process, not once per site (~0.3 ms of the client's CPU per
# connection for an RSA key): path -> (the file's identity when parsed, the key).
_KEYS: dict[str, tuple[tuple[int, int, int], paramiko.PKey]] = {}
_KEYS_LOCK = threading.Lock()


def _parsed_key(path: str) -> paramiko.PKey | None:
    """The key in `path`, parsed again only when the file changed; None lets paramiko read the
    file itself as before (a certificate beside it, a passphrase, a format it alone knows),
    with its own error messages."""
    try:
        if os.path.exists(path + "-cert.pub"):
            return None
        stat = os.stat(path)
    except OSError:
        return None
    identity = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    with _KEYS_LOCK:
        known = _KEYS.get(path)
    if known is not None and known[0] == identity:
        return known[1]
    try:
        key = paramiko.PKey.from_path(path)
    except (paramiko.SSHException, OSError, ValueError, TypeError):
        return None
    with _KEYS_LOCK:
        _KEYS[path] = (identity, key)
    return key


# known_hosts parsed once per process too (paramiko's load parses every line, for every
# connection): path -> (the file's identity when parsed, its keys). Read-only once stored.
_KNOWN_HOSTS: dict[str, tuple[tuple[int, int, int], paramiko.HostKeys]] = {}


def _load_host_keys(client: paramiko.SSHClient, path: str, name: str) -> None:
    """What `client.load_host_keys(path)` gives the check of host `name` (the form paramiko
    looks up: `host` or `[host]:port`): that host's keys, from a parse of the file shared by
    every connection while the file is unchanged. OSError / SSHException as paramiko's."""
    stat = os.stat(path)
    identity = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    with _KEYS_LOCK:
        known = _KNOWN_HOSTS.get(path)
    if known is None or known[0] != identity:
        known = (identity, paramiko.HostKeys(path))
        with _KEYS_LOCK:
            _KNOWN_HOSTS[path] = known
    found = known[1].lookup(name)  # plain and hashed (`|1|...`) entries, as paramiko matches
    if found is not None:
        mine = client.get_host_keys()
        for key_type in found:
            mine.add(name, key_type, found[key_type])


class _UnknownHostKey(paramiko.SSHException):
    """Raised from the strict policy so the presented key reaches our error message."""

    def __init__(self, hostname: str, key: paramiko.PKey) -> None:
        super().__init__(hostname)
        self.hostname = hostname
        self.key = key


class _StrictPolicy(paramiko.MissingHostKeyPolicy):
    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        raise _UnknownHostKey(hostname, key)


class _WarnPolicy(paramiko.MissingHostKeyPolicy):
    """Strict checking turned off by the user: accept, never write known_hosts, but say so."""

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        structlog.get_logger(__name__).warning(
            "ssh host key not verified (strict_host_keys is off)",
            host=hostname,
            key_type=key.get_name(),
            fingerprint=fingerprint(key),
        )


class SSHHost(Host):
    def __init__(
        self,
        hostname: str,
        *,
        port: int = 22,
        user: str | None = None,
        settings: SSHSettings,
    ) -> None:
        self.hostname = hostname
        self.port = port
        self.user = user or getpass.getuser()
        self.settings = settings
        super().__init__(f"{self.user}@{hostname}:{port}", command_timeout=settings.command_timeout)
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        #: How many SSH connections were opened (1 for a whole run unless one dropped).
        self.connections = 0

    # -- connection ----------------------------------------------------------------------------
    @property
    def transport(self) -> paramiko.Transport:
        """The live transport, connecting on first use (and again only if the link dropped)."""
        client = self._client
        if client is not None:
            transport = client.get_transport()
            if transport is not None and transport.is_active():
                return transport
            self._drop()
        client = self._connect()
        self._client = client
        transport = client.get_transport()
        if transport is None:  # connect() succeeded, so paramiko holds a transport
            raise UnreachableError(f"{self.name}: ssh failed (no transport after connecting)")
        return transport

    def _connect(self) -> paramiko.SSHClient:
        s = self.settings
        known_hosts = os.path.expanduser(s.known_hosts)
        where = self.name
        client = paramiko.SSHClient()
        if s.strict_host_keys:
            if os.path.isfile(known_hosts):
                try:
                    name = _known_hosts_name(self.hostname, self.port)
                    _load_host_keys(client, known_hosts, name)
                except (OSError, paramiko.SSHException) as exc:
                    raise HostKeyError(
                        f"{where}: cannot read known_hosts {known_hosts}: {_one_line(exc)}"
                    ) from None
            client.set_missing_host_key_policy(_StrictPolicy())
        else:
            client.set_missing_host_key_policy(_WarnPolicy())
        key_file = os.path.expanduser(s.key_file) if s.key_file else None
        if key_file is not None and not os.path.isfile(key_file):
            # paramiko would only report a vague authentication failure.
            raise UnreachableError(f"{where}: ssh key file {key_file} does not exist")
        pkey = _parsed_key(key_file) if key_file is not None else None
        try:
            client.connect(
                self.hostname,
                port=self.port,
                username=self.user,
                pkey=pkey,
                key_filename=key_file if pkey is None else None,
                allow_agent=s.use_agent,
                # Never try ~/.ssh/id_* behind the user's back when a key is configured.
                look_for_keys=key_file is None,
                timeout=s.connect_timeout,
                banner_timeout=s.connect_timeout,
                auth_timeout=s.connect_timeout,
                channel_timeout=s.connect_timeout,
            )
        except _UnknownHostKey as exc:
            client.close()
            name = _known_hosts_name(self.hostname, self.port)
            why = (
                f"not in {known_hosts}"
                if os.path.isfile(known_hosts)
                else f"cannot be checked: known_hosts file {known_hosts} does not exist"
            )
            raise HostKeyError(
                f"{where}: unknown host key for {name} ({exc.key.get_name()} "
                f"{fingerprint(exc.key)}) {why}; verify it and add it to known_hosts"
            ) from None
        except paramiko.BadHostKeyException as exc:
            client.close()
            name = _known_hosts_name(self.hostname, self.port)
            raise HostKeyError(
                f"{where}: HOST KEY CHANGED for {name}: expected "
                f"{exc.expected_key.get_name()} {fingerprint(exc.expected_key)} (from "
                f"{known_hosts}), got {exc.key.get_name()} {fingerprint(exc.key)}; "
                "possible man-in-the-middle, refusing to connect"
            ) from None
        except paramiko.AuthenticationException as exc:
            client.close()
            raise UnreachableError(f"{where}: authentication failed ({_one_line(exc)})") from None
        except socket.gaierror as exc:
            client.close()
            raise UnreachableError(f"{where}: cannot resolve host ({exc.strerror})") from None
        except TimeoutError:
            client.close()
            raise UnreachableError(
                f"{where}: connection timed out after {s.connect_timeout:g}s"
            ) from None
        except paramiko.ssh_exception.NoValidConnectionsError as exc:
            client.close()
            reasons = {getattr(e, "strerror", None) or str(e) for e in exc.errors.values()}
            raise UnreachableError(
                f"{where}: cannot connect ({'; '.join(sorted(reasons))})"
            ) from None
        except OSError as exc:
            # Covers refused connections, unreachable networks and an unreadable key file.
            client.close()
            raise UnreachableError(f"{where}: cannot connect ({exc.strerror or exc})") from None
        except paramiko.SSHException as exc:
            # Banner timeouts, protocol errors, a key file that is not a key...
            cause = _handshake_cause(client, exc, s.connect_timeout)
            client.close()
            raise UnreachableError(f"{where}: {cause}") from None
        transport = client.get_transport()
        if transport is not None:
            if s.keepalive:
                transport.set_keepalive(s.keepalive)
            # Commands are small request/response exchanges: without TCP_NODELAY, Nagle plus
            # delayed ACKs add ~40 ms to every channel open.
            if isinstance(transport.sock, socket.socket):
                with contextlib.suppress(OSError):
                    transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections += 1
        return client

    def _drop(self) -> None:
        if self._sftp is not None:
            with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                self._sftp.close()
            self._sftp = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def close(self) -> None:
        self._drop()

    # -- commands ------------------------------------------------------------------------------
    def _execute(
        self, argv: Sequence[str] | None, command: str | None, timeout: float, stdin: bytes | None
    ) -> CommandResult:
        shown = quote_command(argv) if argv is not None else (command or "")
        brief = short_command(argv, command)
        transport = self.transport
        try:
            chan = transport.open_session(window_size=_WINDOW_SIZE, timeout=timeout)
            chan.exec_command(login_shell_line(argv) if argv is not None else shown)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise HostError(f"{self.name}: `{brief}` could not start: {_one_line(exc)}") from exc
        try:
            return self._collect(chan, transport, shown, brief, timeout, stdin)
        except HostError:
            structlog.get_logger(__name__).debug("ssh command failed", command=shown)
            raise
        finally:
            chan.close()

    def _collect(
        self,
        chan: paramiko.Channel,
        transport: paramiko.Transport,
        shown: str,
        brief: str,
        timeout: float,
        stdin: bytes | None,
    ) -> CommandResult:
        """Pump stdin, stdout and stderr together so no side can fill up and block the others."""
        deadline = time.monotonic() + timeout
        out, err = bytearray(), bytearray()
        pending = memoryview(stdin or b"")
        if not pending:
            chan.shutdown_write()
        while True:
            busy = False
            while chan.recv_ready():
                out += chan.recv(_CHUNK)
                busy = True
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(_CHUNK)
                busy = True
            if pending and chan.send_ready():
                try:
                    sent = chan.send(bytes(pending[:_CHUNK]))
                except OSError:
                    sent, pending = 0, memoryview(b"")  # the command stopped reading stdin
                pending = pending[sent:]
                if not pending:
                    chan.shutdown_write()
                busy = True
            drained = not chan.recv_ready() and not chan.recv_stderr_ready()
            if drained and ((chan.exit_status_ready() and chan.eof_received) or chan.closed):
                break
            if not transport.is_active():
                raise HostError(f"{self.name}: connection lost while running `{brief}`")
            if time.monotonic() > deadline:
                _kill(chan)
                raise HostError(f"{self.name}: `{brief}` timed out after {timeout:g}s")
            if busy:
                continue
            if chan.eof_received and not pending:
                # Output is complete; only the exit status (or close) is still to come.
                chan.status_event.wait(0.05)
            else:
                # The channel's fd wakes us as soon as output arrives; the short cap keeps stdin
                # flowing and the deadline honoured.
                select.select([chan], [], [], 0.05)
        if chan.exit_status == -1 and not transport.is_active():
            raise HostError(f"{self.name}: connection lost while running `{brief}`")
        # -1 without a lost link: the command died of a signal (OpenSSH sends no exit status).
        return CommandResult(shown, chan.recv_exit_status(), bytes(out), bytes(err))

    # -- files ---------------------------------------------------------------------------------
    def _sftp_client(self) -> paramiko.SFTPClient:
        transport = self.transport  # may reconnect, which invalidates an old SFTP session
        if (
            self._sftp is None
            or self._sftp.get_channel() is None
            or (
                self._sftp.get_channel().get_transport() is not transport  # type: ignore[union-attr]
            )
        ):
            try:
                self._sftp = paramiko.SFTPClient.from_transport(transport)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise HostError(f"{self.name}: cannot open SFTP: {_one_line(exc)}") from exc
            if self._sftp is None:
                raise HostError(f"{self.name}: cannot open SFTP")
        return self._sftp

    def put(self, local_path: str, remote_path: str) -> None:
        self.round_trips += 1
        sftp = self._sftp_client()
        try:
            sftp.put(local_path, remote_path)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise HostError(f"{self.name}: cannot put {remote_path}: {_one_line(exc)}") from exc

    def get(self, remote_path: str, local_path: str) -> None:
        self.round_trips += 1
        sftp = self._sftp_client()
        try:
            # Open the remote file first: paramiko's get() would leave an empty local file
            # behind when the remote one is missing.
            with sftp.open(remote_path, "rb") as remote:
                remote.prefetch()
                with open(local_path, "wb") as local:
                    while chunk := remote.read(_CHUNK):
                        local.write(chunk)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise HostError(f"{self.name}: cannot get {remote_path}: {_one_line(exc)}") from exc


def _kill(chan: paramiko.Channel) -> None:
    """Ask sshd to SIGKILL the command (RFC 4254 "signal" request; paramiko has no API for it),
    so a timed-out command does not keep running after its channel is closed."""
    msg = paramiko.Message()
    msg.add_byte(paramiko.common.cMSG_CHANNEL_REQUEST)
    msg.add_int(chan.remote_chanid)
    msg.add_string("signal")
    msg.add_boolean(False)
    msg.add_string("KILL")
    with contextlib.suppress(OSError, EOFError, paramiko.SSHException, AttributeError):
        chan.transport._send_user_message(msg)  # type: ignore[union-attr]


def _handshake_cause(client: paramiko.SSHClient, exc: Exception, timeout: float) -> str:
    """The real cause of a failed handshake. paramiko stops waiting for the key exchange at the
    timeout without saying so, and its next step then fails with a bare `No existing session`:
    a server that never sent its banner is named as such."""
    transport = client.get_transport()
    if transport is not None and not transport.remote_version:
        saved = transport.get_exception()
        detail = _one_line(saved) if saved is not None else ""
        detail = detail.removeprefix("Error reading SSH protocol banner").strip()
        if detail and "timed out" not in detail and "No existing session" not in detail:
            return f"no SSH banner ({detail})"
        return f"no SSH banner within {timeout:g}s"
    return f"ssh failed ({_one_line(exc)})"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())
