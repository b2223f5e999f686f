"""Fixtures for a real Redmine: one server per session, one fresh project per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tma_agent.testing.redmine import Redmine, RedmineServer, RedmineUnavailable

__all__ = ["RedmineProject", "pytest_terminal_summary", "redmine", "redmine_project"]

# What each session's Redmine cost, printed at the end so a slow start never goes unnoticed.
_STARTS: list[str] = []


@dataclass(frozen=True)
class RedmineProject:
    id: int
    identifier: str


@pytest.fixture(scope="session")
def redmine() -> Iterator[Redmine]:
    """A real Redmine on 127.0.0.1, set up like an agency's; stopped (process group) at the end."""
    try:
        server = RedmineServer()
    except RedmineUnavailable as exc:  # not installed
        pytest.fail(str(exc), pytrace=False)
    try:
        info = server.start()
    except RedmineUnavailable as exc:
        server.stop()
        pytest.fail(str(exc), pytrace=False)
    _STARTS.append(
        f"redmine {info.version}: started from {info.started_from} in {info.start_seconds} s, "
        f"{server.memory_kib() // 1024} MiB resident; "
        + ", ".join(f"{phase} {seconds} s" for phase, seconds in server.timings.items())
    )
    try:
        yield info
    finally:
        server.stop()


@pytest.fixture
def redmine_project(redmine: Redmine) -> RedmineProject:
    """A project of this test's own, so no test sees another's issues (the server is shared)."""
    identifier = f"t-{uuid.uuid4().hex[:12]}"
    body = {"project": {"name": identifier, "identifier": identifier, "is_public": False}}
    with redmine.client() as client:
        answer = client.post("/projects.json", json=body)
    if answer.status_code != 201:
        pytest.fail(f"Redmine refused a new project: {answer.status_code} {answer.text}")
    return RedmineProject(id=int(answer.json()["project"]["id"]), identifier=identifier)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in _STARTS:
        terminalreporter.write_line(line)
