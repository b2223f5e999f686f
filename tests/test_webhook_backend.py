"""The webhook backend against the receiver of tma_webhook.testing (a real HTTP server on
127.0.0.1 that verifies signatures and de-duplicates by delivery id, like docs/tickets.md asks
of a real one)."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from tma_webhook.backend import WebhookBackend, create_delivery_id
from tma_webhook.settings import WebhookSettings
from tma_webhook.signing import sign, verify
from tma_webhook.testing.fixtures import WEBHOOK_PATH, WEBHOOK_SECRET
from tma_webhook.testing.receiver import WebhookReceiver

from tma_agent.config import load_config
from tma_agent.errors import ConfigError
from tma_agent.http_settings import HTTPSettings
from tma_agent.plugins import get_plugin_manager
from tma_agent.tickets import (
    BackendContext,
    TicketDraft,
    TicketRefused,
    TicketUnavailable,
    marker_line,
)
from tma_agent.tickets.registry import (
    build_backend,
    registered_ticket_backends,
    ticket_config_problems,
    ticket_target,
)

ROOT = Path(__file__).parent.parent
SCHEMA = json.loads((ROOT / "docs" / "webhook.schema.json").read_text())
Make = Callable[..., WebhookBackend]


def draft(fingerprint: str = "site:acme-www", **changes: Any) -> TicketDraft:
    fields: dict[str, Any] = {
        "fingerprint": fingerprint,
        "title": "Preventive maintenance: 2 updates on acme-www",
        "description": f"- drupal/core 10.2.1 → 10.2.3 (SA-CORE-2024-001)\n\n{marker_line(fingerprint)}",
        "site": "acme-www",
        "client": "acme",
        "kind": "preventive",
        "priority": "high",
        "estimate_minutes": 240,
        "labels": ("tma", "preventive", "security"),
        **changes,
    }
    return TicketDraft(**fields)


def assert_one_line(exc: BaseException, url: str) -> None:
    text = str(exc)
    assert text.startswith(f"webhook {url}:"), text
    assert "\n" not in text and "Traceback" not in text


# -- signatures -------------------------------------------------------------------------------


def test_a_delivery_verifies_with_the_secret_and_not_with_another(
    webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    webhook_backend().create(draft())
    (delivery,) = webhook_receiver.deliveries.values()
    now = time.time()
    assert verify(WEBHOOK_SECRET, delivery.headers, delivery.raw, now=now) is None
    assert "does not match" in str(
        verify("another-secret-0123456789", delivery.headers, delivery.raw, now=now)
    )
    # One byte changed in the body, or a timestamp moved, breaks it too.
    tampered = delivery.raw.replace(b"acme-www", b"acme-wwx", 1)
    assert verify(WEBHOOK_SECRET, delivery.headers, tampered, now=now) is not None
    moved = {**delivery.headers, "X-TMA-Timestamp": str(int(now) + 1)}
    assert verify(WEBHOOK_SECRET, moved, delivery.raw, now=now) is not None
    header = delivery.headers["X-TMA-Signature"]
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", header)
    assert header == sign(WEBHOOK_SECRET, delivery.headers["X-TMA-Timestamp"], delivery.raw)
    assert delivery.headers["X-TMA-Event"] == "ticket.created"
    assert delivery.headers["Content-Type"] == "application/json"


def test_the_receiver_verification_snippet_in_the_docs_works() -> None:
    """docs/tickets.md shows a receiver how to verify: run that very code on a real delivery."""
    doc = (ROOT / "docs" / "tickets.md").read_text()
    section = doc[doc.index("\n## webhook") :]
    (snippet,) = re.findall(r"```python\n(.*?)```", section, re.S)[:1]
    namespace: dict[str, Any] = {}
    exec(compile(snippet, "docs/tickets.md", "exec"), namespace)  # noqa: S102 (our own docs)
    with WebhookReceiver(WEBHOOK_SECRET) as receiver:
        backend = _backend(receiver.url)
        backend.create(draft())
        backend.close_connection()
    (delivery,) = receiver.deliveries.values()
    check = namespace["verify"]
    assert check(WEBHOOK_SECRET.encode(), delivery.headers, delivery.raw) is True
    assert check(b"another-secret-0123456789", delivery.headers, delivery.raw) is False
    stale = {**delivery.headers, "X-TMA-Timestamp": str(int(time.time()) - 3600)}
    assert check(WEBHOOK_SECRET.encode(), stale, delivery.raw) is False


def test_a_receiver_with_another_secret_refuses_and_keeps_nothing(
    webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    webhook_receiver.secret = "rotated-secret-0123456789"
    with pytest.raises(TicketRefused) as caught:
        webhook_backend().create(draft())
    assert caught.value.status == 401
    assert "HTTP 401" in str(caught.value) and "signature does not match" in str(caught.value)
    assert webhook_receiver.deliveries == {} and webhook_receiver.tickets == {}
    assert webhook_receiver.rejected == [
        "signature does not match (another secret, or a body changed on the way)"
    ]


def test_a_delivery_signed_an_hour_ago_is_refused_as_a_replay(
    webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    backend = webhook_backend()
    backend._clock = lambda: time.time() - 3600
    with pytest.raises(TicketRefused, match="HTTP 401"):
        backend.create(draft())
    assert webhook_receiver.rejected[0].startswith("X-TMA-Timestamp is more than 300 s away")


# -- exactly once -----------------------------------------------------------------------------


def test_a_create_whose_answer_was_lost_is_resent_with_its_id_and_kept_once(
    webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    backend = webhook_backend()
    webhook_receiver.drop_next()
    with pytest.raises(TicketUnavailable) as caught:
        backend.create(draft())
    assert_one_line(caught.value, webhook_receiver.url + WEBHOOK_PATH)
    assert list(webhook_receiver.tickets) == ["WH-1"]  # applied, answer lost
    assert backend.find("site:acme-www") is None  # a webhook cannot be searched
    ticket = backend.create(draft())  # what the outbox does next
    assert ticket.ref == "WH-1" and ticket.url == f"{webhook_receiver.url}/tickets/WH-1"
    assert ticket.status == "open" and ticket.labels == ("tma", "preventive", "security")
    assert list(webhook_receiver.deliveries) == ["create:site:acme-www"]
    assert webhook_receiver.repeats == {"create:site:acme-www": 1}
    assert webhook_receiver.hits == 2 and list(webhook_receiver.tickets) == ["WH-1"]


def test_an_update_and_a_close_resent_carry_the_outbox_id_and_apply_once(
    webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    backend = webhook_backend()
    ref = backend.create(draft()).ref
    newer = draft(title="Preventive maintenance: 3 updates on acme-www")
    webhook_receiver.drop_next()
    with pytest.raises(TicketUnavailable):
        backend.update(ref, newer, "A new advisory: SA-CORE-2024-002", "update:7")
    assert backend.delivered(ref, "update:7") is False  # cannot tell: the outbox re-sends
    backend.update(ref, newer, "A new advisory: SA-CORE-2024-002", "update:7")
    webhook_receiver.fail_next()
    with pytest.raises(TicketUnavailable, match="HTTP 503"):
        backend.close(ref, "Every target reached.", "close:8")
    backend.close(ref, "Every target reached.", "close:8")
    backend.close(ref, "Every target reached.", "close:8")
    ticket = webhook_receiver.tickets[ref]
    assert ticket.title == newer.title and ticket.status == "closed"
    assert ticket.notes == ["A new advisory: SA-CORE-2024-002", "Every target reached."]
    assert webhook_receiver.repeats == {"update:7": 1, "close:8": 1}
    assert webhook_receiver.events() == ["ticket.created", "ticket.updated", "ticket.closed"]
    headers = [d.headers["X-TMA-Delivery"] for d in webhook_receiver.deliveries.values()]
    assert headers == ["create:site:acme-www", "update:7", "close:8"]


def test_a_request_following_a_closed_ticket_is_a_new_delivery_not_a_repeat(
    webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    """per_site: the request opened for a newer target keeps the site's fingerprint."""
    backend = webhook_backend()
    first = backend.create(draft())
    backend.close(first.ref, "Closed by the client.", "close:1")
    second = backend.create(draft(previous_ref=first.ref))
    assert second.ref == "WH-2" and second.ref != first.ref
    assert create_delivery_id(draft(previous_ref=first.ref)) != create_delivery_id(draft())
    assert (
        webhook_receiver.deliveries[create_delivery_id(draft(previous_ref="WH-1"))].body[
            "previous_ref"
        ]
        == "WH-1"
    )
    assert not webhook_receiver.repeats


def test_a_receiver_answering_no_ref_gets_the_fingerprint_as_ref() -> None:
    with WebhookReceiver(WEBHOOK_SECRET, answer_refs=False) as receiver:
        backend = _backend(receiver.url)
        first = backend.create(draft())
        assert first.ref == "site:acme-www" and first.url is None
        backend.update(first.ref, draft(), None, "update:1")
        # Its follow-up needs another ref, the same at every re-send of its create.
        follow = backend.create(draft(previous_ref=first.ref))
        assert follow.ref.startswith("site:acme-www:") and follow.ref != first.ref
        assert backend.create(draft(previous_ref=first.ref)).ref == follow.ref
        backend.close_connection()
    assert list(receiver.tickets) == [first.ref, follow.ref]
    assert receiver.repeats == {f"create:{follow.ref}": 1}


def test_a_webhook_reads_nothing_back(webhook_backend: Make) -> None:
    backend = webhook_backend()
    assert backend.fetch(["WH-1", "WH-2"]) == {}
    assert backend.find("site:acme-www") is None
    info = registered_ticket_backends(get_plugin_manager())["webhook"]
    assert info.reads_validations is False and info.factory is WebhookBackend


# -- what the receiver answers ----------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403, 404, 410, 422])
def test_permanent_refusals(
    status: int, webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    webhook_receiver.fail_next(status=status, body=b'{"error": "no such hook"}')
    with pytest.raises(TicketRefused) as caught:
        webhook_backend().create(draft())
    assert caught.value.status == status
    assert_one_line(caught.value, webhook_receiver.url + WEBHOOK_PATH)
    assert f"HTTP {status}: " in str(caught.value) and "no such hook" in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_transient_answers_leave_the_write_queued_and_are_not_retried_here(
    status: int, webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    webhook_receiver.fail_next(status=status)
    with pytest.raises(TicketUnavailable) as caught:
        webhook_backend().update("WH-1", draft(), "note", "update:1")
    assert_one_line(caught.value, webhook_receiver.url + WEBHOOK_PATH)
    assert webhook_receiver.hits == 1  # a write is the outbox's to re-send


def test_a_receiver_that_never_answers_is_unavailable_within_the_timeout(
    webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    webhook_receiver.hang_next(seconds=10)
    started = time.monotonic()
    with pytest.raises(TicketUnavailable, match=r"no answer within 1 s") as caught:
        webhook_backend(timeout=1).create(draft())
    assert time.monotonic() - started < 3
    assert_one_line(caught.value, webhook_receiver.url + WEBHOOK_PATH)
    assert webhook_receiver.tickets == {}


def test_a_receiver_that_is_down_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = _backend(f"http://127.0.0.1:{port}")
    with pytest.raises(TicketUnavailable) as caught:
        backend.create(draft())
    assert_one_line(caught.value, f"http://127.0.0.1:{port}{WEBHOOK_PATH}")
    backend.close_connection()


@pytest.mark.parametrize(
    ("body", "content_type", "error", "match"),
    [
        (b'{"ref": ', "application/json", TicketUnavailable, "not JSON"),
        (b'{"ref": ["WH-1"]}', "application/json", TicketRefused, "answered a `ref`"),
        (b'{"ref": "WH\\n1"}', "application/json", TicketRefused, "one-line string"),
        (b'{"ref": ""}', "application/json", TicketRefused, "1-200 characters"),
        (json.dumps({"ref": "x" * 201}).encode(), "application/json", TicketRefused, "1-200"),
    ],
)
def test_a_malformed_answer_to_a_create_is_an_error_not_a_stored_ref(
    body: bytes,
    content_type: str,
    error: type[Exception],
    match: str,
    webhook_receiver: WebhookReceiver,
    webhook_backend: Make,
) -> None:
    webhook_receiver.answer_next(200, body, content_type=content_type)
    with pytest.raises(error, match=match) as caught:
        webhook_backend().create(draft())
    assert_one_line(caught.value, webhook_receiver.url + WEBHOOK_PATH)


@pytest.mark.parametrize(
    ("body", "content_type", "ref", "url"),
    [
        (b"OK", "text/plain", "site:acme-www", None),
        (b'{"ref": "T-3"}', "text/plain", "T-3", None),
        (b"{not json", "text/plain", "site:acme-www", None),
        (b"", "application/json", "site:acme-www", None),
        (b'{"status": "success"}', "application/json", "site:acme-www", None),  # Zapier's
        (b"[1, 2]", "application/json", "site:acme-www", None),
        (
            b'{"ref": 4021, "url": "https://t.example/4021"}',
            "application/json",
            "4021",
            "https://t.example/4021",
        ),
        (b'{"ref": "T-9", "url": "javascript:alert(1)"}', "application/json", "T-9", None),
    ],
)
def test_what_a_create_answer_may_say(
    body: bytes,
    content_type: str,
    ref: str,
    url: str | None,
    webhook_receiver: WebhookReceiver,
    webhook_backend: Make,
) -> None:
    webhook_receiver.answer_next(200, body, content_type=content_type)
    ticket = webhook_backend().create(draft())
    assert (ticket.ref, ticket.url) == (ref, url)


# -- check ------------------------------------------------------------------------------------


def test_check_pings_and_is_empty_when_the_receiver_verifies(
    webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    assert webhook_backend().check() == []
    (ping,) = webhook_receiver.deliveries.values()
    assert ping.event == "ping" and ping.headers["X-TMA-Event"] == "ping"
    assert ping.id.startswith("ping:") and ping.body["delivery_id"] == ping.id
    assert webhook_receiver.tickets == {}


def test_check_with_the_wrong_secret_says_which_key_to_fix(
    webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    (line,) = webhook_backend(secret="not-the-receivers-secret").check()
    assert line.startswith(f"webhook {webhook_receiver.url}{WEBHOOK_PATH}: ")
    assert "refused the signed ping (HTTP 401)" in line and "set tickets.secret" in line
    assert "not-the-receivers-secret" not in line


def test_check_of_a_broken_or_missing_receiver(
    webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    webhook_receiver.fail_next(status=404, body=b"no such hook")
    (line,) = webhook_backend().check()
    assert "HTTP 404: no such hook" in line and "must answer a 2xx" in line
    webhook_receiver.fail_next(status=502)
    (line,) = webhook_backend().check()
    assert "HTTP 502" in line and "reachable" in line
    assert "\n" not in line


# -- the body ---------------------------------------------------------------------------------


def test_every_body_follows_the_documented_schema(
    webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    backend = webhook_backend(labels=["tma", "agency"])
    ref = backend.create(draft(previous_ref="WH-0")).ref
    backend.update(ref, draft(), None, "update:1")
    backend.update(ref, draft(), "Now 3 updates.", "update:2")
    backend.close(ref, "Every target reached.", "close:3")
    assert backend.check() == []
    bodies = [d.body for d in webhook_receiver.deliveries.values()]
    assert [b["event"] for b in bodies] == [
        "ticket.created",
        "ticket.updated",
        "ticket.updated",
        "ticket.closed",
        "ping",
    ]
    for body in bodies:
        errors = [e.message for e in validator.iter_errors(body)]
        assert not errors, (body["event"], errors)
    created = bodies[0]
    assert created["labels"] == ["tma", "agency", "preventive", "security"]  # no duplicate
    assert created["description"].endswith("tma-fingerprint: site:acme-www")
    assert (created["ref"], created["previous_ref"], created["estimate_minutes"]) == (
        None,
        "WH-0",
        240,
    )
    assert bodies[3]["ref"] == "WH-1" and bodies[3]["fingerprint"] is None
    # The schema can fail: an undocumented key, a close without its ref.
    assert not validator.is_valid({**created, "secret": "x"})
    assert not validator.is_valid({**bodies[3], "ref": None})
    assert not validator.is_valid({**created, "priority": "asap"})


# -- configuration and secrets ----------------------------------------------------------------


def _write_config(tmp_path: Path, tickets: str) -> Path:
    path = tmp_path / "tma.yaml"
    block = textwrap.indent(textwrap.dedent(tickets), "  ")
    path.write_text(
        f"state_dir: {tmp_path / 'state'}\ntickets:\n{block}clients:\n  - id: acme\n    name: ACME\n"
    )
    return path


def test_secret_from_the_env_never_shows_in_messages_logs_or_bodies(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "env-secret-5f0c2d9a7b1e4c38"
    monkeypatch.setenv("TMA_TEST_WEBHOOK_SECRET", secret)
    caplog.set_level(logging.DEBUG)
    with WebhookReceiver(secret) as receiver:
        config = load_config(
            _write_config(
                tmp_path,
                f"""\
            backend: webhook
            url: {receiver.url}/hooks/tma?token=query-token-7c1d
            secret: {{$env: TMA_TEST_WEBHOOK_SECRET}}
            """,
            )
        )
        plugins = registered_ticket_backends(get_plugin_manager())
        assert ticket_config_problems(config, plugins) == []
        info, backend = build_backend(config, ticket_target(config, "acme"), plugins)
        assert info.name == "webhook" and isinstance(backend, WebhookBackend)
        ref = backend.create(draft()).ref
        messages: list[str] = []
        reasons: list[str] = []
        for fault in ("status", "drop", "refuse"):
            if fault == "status":
                receiver.fail_next(status=500, body=f'{{"echo": "{secret}"}}'.encode())
            elif fault == "drop":
                receiver.drop_next()
            else:
                receiver.secret = "rotated-secret-0123456789"
            with pytest.raises((TicketRefused, TicketUnavailable)) as caught:
                backend.update(ref, draft(), "note", f"update:{fault}")
            messages.append(str(caught.value))
            reasons.append(caught.value.reason)  # what the outbox parks with the write
        messages += backend.check()
        backend.close_connection()
    assert "***" in messages[0]  # the echoed secret, masked
    printed = capsys.readouterr()
    seen = "\n".join([*messages, *reasons, caplog.text, printed.out, printed.err])
    for delivery in receiver.deliveries.values():
        seen += delivery.raw.decode() + json.dumps(delivery.headers)
    assert secret not in seen
    assert "query-token-7c1d" not in "\n".join(messages)  # no query string in a message
    assert all(m.startswith(f"webhook {receiver.url}/hooks/tma:") for m in messages), messages


def test_a_secret_written_in_clear_is_masked_too(
    webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    webhook_receiver.fail_next(status=422, body=b'{"error": "clear-secret-9a8b7c6d5e4f"}')
    with pytest.raises(TicketRefused) as caught:
        webhook_backend(secret="clear-secret-9a8b7c6d5e4f").create(draft())
    assert "clear-secret" not in str(caught.value) and "***" in str(caught.value)


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ("url: http://127.0.0.1:9/hook\n", "secret: Field required"),
        ("secret: short\nurl: http://127.0.0.1:9/hook\n", "secret: String should have at least 16"),
        ("secret: 0123456789abcdef0\n", "url: Field required"),
        ("secret: 0123456789abcdef0\nurl: http://x/h\ntracker: Bug\n", "tracker: "),
    ],
)
def test_config_problems_name_the_line_and_key(tmp_path: Path, keys: str, problem: str) -> None:
    config = load_config(_write_config(tmp_path, "backend: webhook\n" + keys))
    problems = ticket_config_problems(config, registered_ticket_backends(get_plugin_manager()))
    assert len(problems) == 1, problems
    assert re.match(r"tma\.yaml:\d+: tickets", problems[0]) and problem in problems[0], problems


def test_a_url_that_is_not_http_is_a_config_error(tmp_path: Path) -> None:
    path = _write_config(tmp_path, "backend: webhook\nsecret: 0123456789abcdef0\nurl: ftp://x\n")
    with pytest.raises(ConfigError, match=r"^tma\.yaml:5: tickets\.url: must be an http"):
        load_config(path)


def _backend(url: str, **keys: Any) -> WebhookBackend:
    settings = WebhookSettings.model_validate(
        {"backend": "webhook", "url": url + WEBHOOK_PATH, "secret": WEBHOOK_SECRET, **keys}
    )
    return WebhookBackend(BackendContext(settings, HTTPSettings(timeout=5)))


# -- the receiver itself ----------------------------------------------------------------------


def test_the_receiver_refuses_unsigned_and_inconsistent_deliveries(
    webhook_receiver: WebhookReceiver,
) -> None:
    url = webhook_receiver.url + WEBHOOK_PATH
    body = b'{"event": "ping", "delivery_id": "ping:1"}'
    unsigned = httpx.post(url, content=body, headers={"X-TMA-Delivery": "ping:1"})
    assert unsigned.status_code == 401
    assert unsigned.json() == {"error": "no X-TMA-Signature header"}
    timestamp = str(int(time.time()))
    signed = {
        "X-TMA-Timestamp": timestamp,
        "X-TMA-Signature": sign(WEBHOOK_SECRET, timestamp, body),
        "X-TMA-Event": "ping",
    }
    other = httpx.post(url, content=body, headers={**signed, "X-TMA-Delivery": "ping:2"})
    assert other.status_code == 400  # the header and the body name two deliveries
    good = httpx.post(url, content=body, headers={**signed, "X-TMA-Delivery": "ping:1"})
    assert good.status_code == 200 and list(webhook_receiver.deliveries) == ["ping:1"]
    assert webhook_receiver.rejected == ["no X-TMA-Signature header"]


def test_the_receiver_runs_from_the_command_line(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "TMA_WEBHOOK_SECRET": WEBHOOK_SECRET, "TMA_WEBHOOK_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tma_webhook.testing.receiver"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None and process.stdout is not None
        assert process.stderr.readline().startswith(f"receiving on http://127.0.0.1:{port}")
        backend = _backend(f"http://127.0.0.1:{port}")
        assert backend.create(draft()).ref == "WH-1"
        assert (
            _backend(f"http://127.0.0.1:{port}", secret="wrong-secret-of-the-cli-test").check()
            != []
        )
        backend.close_connection()
        printed = json.loads(process.stdout.readline())
        assert printed["event"] == "ticket.created" and printed["fingerprint"] == "site:acme-www"
        assert process.stderr.readline().startswith("refused (401): signature does not match")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_strange_characters_never_become_a_traceback(
    webhook_receiver: WebhookReceiver, webhook_backend: Make
) -> None:
    backend = webhook_backend()
    with pytest.raises(TicketRefused, match="delivery id is not printable ASCII") as caught:
        backend.update("WH-1", draft(), None, "update:\u00e9t\u00e9")
    assert_one_line(caught.value, webhook_receiver.url + WEBHOOK_PATH)
    ref = backend.create(draft(title="Mise \u00e0 jour \udcff")).ref
    (delivery,) = webhook_receiver.deliveries.values()
    assert delivery.body["title"] == "Mise \u00e0 jour ?" and ref == "WH-1"
