"""What the forge fakes share (`tma_gitlab.testing`, `tma_github.testing`, and the multipart
reading of `tma_jira.testing`): reading a `multipart/form-data` upload as a server does, and
the pytest fixtures each forge plugin offers (a started fake, a factory of backends on it).

The multipart reader is written from RFC 7578 here, not taken from the client's encoder, so a
test that sends through the backend and reads through the fake checks one against the other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import pytest

from tma_agent.http_settings import HTTPSettings
from tma_agent.plugin_settings import typed_settings
from tma_agent.tickets import (
    BackendContext,
    TicketBackend,
    TicketDraft,
    TicketFile,
    TicketSettings,
    marker_line,
)

__all__ = ["FormPart", "backend_fixtures", "form_parts", "screenshots", "ticket_draft"]

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class FormPart:
    """One part of a `multipart/form-data` body."""

    name: str
    filename: str | None
    content_type: str
    content: bytes


def form_parts(headers: Mapping[str, str], body: bytes) -> list[FormPart]:
    """The parts of a `multipart/form-data` request; ValueError for anything else (the fakes
    answer it as their API answers a malformed body)."""
    kind = {key.lower(): value for key, value in headers.items()}.get("content-type", "")
    match = _BOUNDARY.search(kind)
    if not kind.startswith("multipart/form-data") or not match:
        raise ValueError("not multipart/form-data")
    delimiter = b"\r\n--" + match.group(1).encode()
    pieces = (b"\r\n" + body).split(delimiter)
    if len(pieces) < 3 or not pieces[-1].startswith(b"--"):
        raise ValueError("no closing boundary")
    parts = []
    for piece in pieces[1:-1]:
        head, separator, content = piece.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("a part without headers")
        fields = {}
        for line in head.decode("utf-8").split("\r\n"):
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        disposition = dict(_PARAM.findall(fields.get("content-disposition", "")))
        if "name" not in disposition:
            raise ValueError("a part without a name")
        parts.append(
            FormPart(
                disposition["name"],
                disposition.get("filename"),
                fields.get("content-type", "text/plain"),
                content,
            )
        )
    return parts


def ticket_draft(fingerprint: str = "acme/www", **changes: Any) -> TicketDraft:
    """A request's draft, its description ending with the marker line (`changes`: fields)."""
    values: dict[str, Any] = {
        "fingerprint": fingerprint,
        "title": "Updates for www.acme.example",
        "description": f"drupal/core 10.2.1 → 10.2.3\n\n{marker_line(fingerprint)}",
        "site": "www",
        "client": "acme",
        "kind": "preventive",
        "priority": "high",
        "estimate_minutes": 60,
        **changes,
    }
    return TicketDraft(**values)


def screenshots() -> list[TicketFile]:
    """A visual check's three files, their bytes hostile to a careless multipart reader (a
    PNG signature's CR LF, a line that looks like a boundary, every byte value)."""
    body = b"\x89PNG\r\n\x1a\n" + b"\r\n--boundary\r\n\r\n" + bytes(range(256)) * 4
    return [
        TicketFile("before.png", "image/png", body + b"before", "Before", None),
        TicketFile("after.png", "image/png", body + b"after", "After", None),
        TicketFile("changes_diff.png", "image/png", body + b"diff", "Changed pixels", None),
    ]


class _Fake(Protocol):
    token: str

    @property
    def url(self) -> str: ...

    def start(self) -> Any: ...

    def stop(self) -> None: ...


F = TypeVar("F", bound=_Fake)
B = TypeVar("B", bound=TicketBackend)


def backend_fixtures(
    name: str,
    fake_class: Callable[[], F],
    backend_class: Callable[[BackendContext], B],
    settings_model: type[TicketSettings],
    project_of: Callable[[F], str],
) -> tuple[Any, Any]:
    """Two fixtures: `fake_<name>` (a started fake) and `<name>_backend` (a factory of
    backends on it, short timeouts: `<name>_backend(**keys)`, keys override the `tickets:`
    block, `timeout=` the HTTP timeout; every backend made is closed afterwards)."""

    @pytest.fixture(name=f"fake_{name}")
    def fake() -> Iterator[F]:
        started = fake_class()
        started.start()
        try:
            yield started
        finally:
            started.stop()

    @pytest.fixture(name=f"{name}_backend")
    def backend(request: pytest.FixtureRequest) -> Iterator[Callable[..., B]]:
        server: F = request.getfixturevalue(f"fake_{name}")
        made: list[B] = []

        def make(**keys: Any) -> B:
            timeout = keys.pop("timeout", 1.5)
            raw = {
                "backend": name,
                "url": server.url,
                "token": server.token,
                "project": project_of(server),
                **keys,
            }
            settings = typed_settings(settings_model, raw, "tickets")
            made.append(
                backend_class(BackendContext(settings, HTTPSettings(timeout=timeout, retries=2)))
            )
            return made[-1]

        yield make
        for each in made:
            each.close_connection()

    return fake, backend
