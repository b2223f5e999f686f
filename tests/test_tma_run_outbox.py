"""Exactly-once ticket writes through `tma run`, against the webhook backend's verifying,
de-duplicating receiver on 127.0.0.1: a receiver that is down, slow, answering 5xx or losing
its answers leaves the work queued (exit 3) and the next run sends it once; a refusal is
parked until `tma requests retry`; a SIGKILL while the answer is on its way duplicates
nothing."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from run_fleet import CORE_NEWER, Fleet, actions
from run_fleet import fleet as fleet  # the fixture
from tma_webhook.testing.fixtures import WEBHOOK_PATH, WEBHOOK_SECRET
from tma_webhook.testing.receiver import WebhookReceiver

from tma_agent.testing.cli import background_tma, sigkill

SECRET_ENV = "TMA_TEST_WEBHOOK_SECRET"


@pytest.fixture
def receiver() -> WebhookReceiver:
    with WebhookReceiver(WEBHOOK_SECRET) as running:
        yield running


def _use_webhook(fleet: Fleet, receiver: WebhookReceiver, **keys: object) -> None:
    fleet.write(
        tickets={
            "backend": "webhook",
            "url": receiver.url + WEBHOOK_PATH,
            "secret": {"$env": SECRET_ENV},
            **keys,
        },
        http={"timeout": 3, "retries": 1},
    )
    os.environ[SECRET_ENV] = WEBHOOK_SECRET


@pytest.fixture(autouse=True)
def _secret_env() -> None:
    yield
    os.environ.pop(SECRET_ENV, None)


def created(receiver: WebhookReceiver) -> list[str]:
    return sorted(
        d.body["fingerprint"] for d in receiver.deliveries.values() if d.event == "ticket.created"
    )


def test_three_runs_send_each_create_once(fleet: Fleet, receiver: WebhookReceiver) -> None:
    _use_webhook(fleet, receiver)
    first = fleet.run()
    assert actions(first) == {"tma:www:site": "created", "tma:intranet:site": "created"}
    assert {r["ticket"] for r in first["requests"]} == {"WH-1", "WH-2"}
    fleet.run()
    fleet.run()
    assert created(receiver) == ["tma:intranet:site", "tma:www:site"]
    assert receiver.hits == 2 and not receiver.repeats  # nothing sent again, not even a repeat


def test_a_receiver_answering_503_leaves_the_work_queued_until_the_next_run(
    fleet: Fleet, receiver: WebhookReceiver
) -> None:
    _use_webhook(fleet, receiver)
    receiver.fail_next(1, status=503)
    first = fleet.run(code=3)
    assert first["queued"] == 2  # the first failure leaves the receiver alone for the run
    assert {r["action"] for r in first["requests"]} == {"queued"}
    assert receiver.hits == 1 and created(receiver) == []
    assert any("webhook" in e and "HTTP 503" in e for e in first["ticket_errors"])
    queued = fleet.requests("--queued")
    assert [r["outbox"] for r in queued] == ["queued", "queued"]
    second = fleet.run()
    assert second["queued"] == 0 and actions(second) == {
        "tma:www:site": "unchanged",
        "tma:intranet:site": "unchanged",
    }
    assert created(receiver) == ["tma:intranet:site", "tma:www:site"]
    assert all(r["ticket"] for r in fleet.requests())


def test_a_lost_answer_is_resent_with_the_same_delivery_id_and_kept_once(
    fleet: Fleet, receiver: WebhookReceiver
) -> None:
    _use_webhook(fleet, receiver)
    receiver.drop_next(1)  # applied, then the connection drops: the agent never hears back
    fleet.run(code=3)
    assert len(receiver.deliveries) == 1
    fleet.run()
    assert created(receiver) == ["tma:intranet:site", "tma:www:site"]
    assert sum(receiver.repeats.values()) == 1  # the lost one came again, and was a repeat
    assert {r["ticket"] for r in fleet.requests()} == {"WH-1", "WH-2"}


def test_a_slow_receiver_times_out_and_the_next_run_sends_once(
    fleet: Fleet, receiver: WebhookReceiver
) -> None:
    _use_webhook(fleet, receiver)
    receiver.hang_next(1, seconds=6)
    first = fleet.run(code=3)
    assert any("no answer within 3 s" in e for e in first["ticket_errors"])
    fleet.run()
    assert created(receiver) == ["tma:intranet:site", "tma:www:site"]


def test_a_refusal_is_parked_until_retry(
    fleet: Fleet, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    _use_webhook(fleet, receiver)
    os.environ[SECRET_ENV] = "not-the-receivers-secret-at-all"
    first = fleet.run(code=3)
    assert first["parked"] >= 1
    error = next(e for e in first["ticket_errors"] if "parked" in e)
    assert f"webhook {receiver.url}{WEBHOOK_PATH}: HTTP 401" in error
    assert "not-the-receivers-secret-at-all" not in json.dumps(first)
    # Parked writes are not sent again by later runs: only by `tma requests retry`.
    hits = receiver.hits
    fleet.run(code=3)
    parked = [r for r in fleet.requests("--queued") if r["outbox"] == "parked"]
    assert parked and "HTTP 401" in parked[0]["outbox_answer"]
    assert receiver.hits - hits <= 1  # the other request's create tries once, then is parked
    os.environ[SECRET_ENV] = WEBHOOK_SECRET
    retry = fleet.tma("requests", "retry")
    assert retry.returncode == 0, retry.stderr + retry.stdout
    assert "outbox: 0 queued, 0 parked" in retry.stdout
    assert created(receiver) == ["tma:intranet:site", "tma:www:site"]


def test_updates_and_closes_reach_the_receiver_once(
    fleet: Fleet, receiver: WebhookReceiver
) -> None:
    _use_webhook(fleet, receiver)
    fleet.run()
    fleet.feeds(CORE_NEWER)
    receiver.drop_next(1)  # the first update's answer is lost
    fleet.run(code=3)
    fleet.run()
    updates = [d for d in receiver.deliveries.values() if d.event == "ticket.updated"]
    assert sorted(d.body["fingerprint"] for d in updates) == ["tma:intranet:site", "tma:www:site"]
    assert all("target 10.3.1 → 10.3.2" in d.body["note"] for d in updates)
    assert all(len(t.notes) == 1 for t in receiver.tickets.values())


def test_sigkill_while_the_answer_is_on_its_way_duplicates_nothing(
    fleet: Fleet, receiver: WebhookReceiver
) -> None:
    _use_webhook(fleet, receiver)
    receiver.hang_next(1, seconds=30)  # the first create is applied, its answer never comes
    with background_tma("run", "--format", "json", config=fleet.config) as run:
        deadline = time.monotonic() + 60
        while not receiver.hits:
            if time.monotonic() > deadline:
                pytest.fail("the run never sent its first write")
            time.sleep(0.02)
        time.sleep(0.2)
        sigkill(run)
    outbox = fleet.requests("--queued")
    assert [r["outbox"] for r in outbox] == ["queued", "queued"]  # recorded, not lost
    fleet.run()
    fleet.run()
    assert created(receiver) == ["tma:intranet:site", "tma:www:site"]
    assert all(r["outbox"] is None and r["ticket"] for r in fleet.requests())
