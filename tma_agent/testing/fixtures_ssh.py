"""Fixtures for a real OpenSSH sshd (owned by the hosts work)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tma_agent.hosts import Host, LocalHost, SSHHost
from tma_agent.testing.sshd import SSHServer

__all__ = ["host", "ssh_host", "sshd"]


@pytest.fixture(scope="session")
def sshd() -> Iterator[SSHServer]:
    """One real sshd on 127.0.0.1 for the whole session (starting one costs ~0.3 s)."""
    with SSHServer() as server:
        yield server


@pytest.fixture
def ssh_host(sshd: SSHServer) -> Iterator[SSHHost]:
    """A strict SSHHost logged in to `sshd` as its test user; closed after the test."""
    host = SSHHost(sshd.host, port=sshd.port, user=sshd.user, settings=sshd.settings())
    try:
        yield host
    finally:
        host.close()


@pytest.fixture(params=["local", "ssh"])
def host(request: pytest.FixtureRequest, sshd: SSHServer) -> Iterator[Host]:
    """Each twin in turn, `local` then `ssh` (logged in to `sshd`): a test using it shows that
    both answer the same."""
    if request.param == "local":
        twin: Host = LocalHost()
    else:
        twin = SSHHost(sshd.host, port=sshd.port, user=sshd.user, settings=sshd.settings())
    try:
        yield twin
    finally:
        twin.close()
