"""Pytest fixtures of the webhook backend (add `tma_webhook.testing.fixtures` to your
conftest's `pytest_plugins`): a running receiver, and a backend pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tma_agent.http_settings import HTTPSettings
from tma_agent.tickets import BackendContext
from tma_webhook.backend import WebhookBackend
from tma_webhook.settings import WebhookSettings
from tma_webhook.testing.receiver import WebhookReceiver

__all__ = ["WEBHOOK_PATH", "WEBHOOK_SECRET", "webhook_backend", "webhook_receiver"]

#: What the fixtures share; long enough for `WebhookSettings.secret`.
WEBHOOK_SECRET = "whsec-test-0123456789abcdef"  # noqa: S105 (a test secret, nothing else)
WEBHOOK_PATH = "/hooks/tma"


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(WEBHOOK_SECRET) as receiver:
        yield receiver


@pytest.fixture
def webhook_backend(
    webhook_receiver: WebhookReceiver,
) -> Iterator[Callable[..., WebhookBackend]]:
    """`webhook_backend(secret=..., timeout=..., **settings)` builds a backend posting to the
    receiver; every one built is closed after the test."""
    built: list[WebhookBackend] = []

    def make(*, timeout: float = 5.0, retries: int = 3, **keys: Any) -> WebhookBackend:
        raw = {
            "backend": "webhook",
            "url": webhook_receiver.url + WEBHOOK_PATH,
            "secret": WEBHOOK_SECRET,
            **keys,
        }
        context = BackendContext(
            WebhookSettings.model_validate(raw), HTTPSettings(timeout=timeout, retries=retries)
        )
        backend = WebhookBackend(context)
        built.append(backend)
        return backend

    yield make
    for backend in built:
        backend.close_connection()
