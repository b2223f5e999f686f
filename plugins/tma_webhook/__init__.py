"""The `webhook` ticket backend: for agencies whose ticket system is something else (n8n,
Zapier, an in-house tool), every ticket write becomes a JSON POST signed with HMAC-SHA256.

Modules: `settings` (the `tickets:` keys), `signing` (how a delivery is signed and verified),
`backend` (the backend), `testing` (a receiver that verifies and de-duplicates, its fixtures).
The body's schema is docs/webhook.schema.json; docs/tickets.md says how a receiver verifies.
"""

from __future__ import annotations

from collections.abc import Callable

from tma_agent.hookspecs import hookimpl
from tma_agent.tickets import BackendInfo
from tma_webhook.backend import WebhookBackend
from tma_webhook.settings import WebhookSettings

__all__ = ["WebhookBackend", "WebhookSettings", "tma_register_ticket_backends"]


@hookimpl
def tma_register_ticket_backends(register: Callable[[BackendInfo], None]) -> None:
    register(
        BackendInfo(
            name="webhook",
            title="Signed JSON POSTs to a receiver of your own (n8n, Zapier, in-house)",
            factory=WebhookBackend,
            settings_model=WebhookSettings,
            # A webhook cannot be read back: validations go through `tma requests validate`.
            reads_validations=False,
            attaches=True,
        )
    )
