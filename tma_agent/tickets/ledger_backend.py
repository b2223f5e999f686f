"""The `ledger` ticket backend (built in, the default): requests live in the agent's own
database and nowhere else, so `tma run` works end to end with no ticket system at all.

Registered through the `tma_agent` entry-point group like every other backend. Its "ticket" is
the request itself: the reference is the fingerprint, writes have nothing to send, and the
client's validation is recorded with `tma requests validate`. It keeps no files (no `attach`):
an apply's images stay under `state_dir` and on the dashboard, its note is kept as any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from tma_agent.hookspecs import hookimpl
from tma_agent.tickets._backend import BackendContext, BackendInfo
from tma_agent.tickets._types import RemoteTicket, TicketDraft
from tma_agent.tickets.settings import TicketSettings

__all__ = ["LedgerBackend", "tma_register_ticket_backends"]


class LedgerBackend:
    name = "ledger"

    def __init__(self, context: BackendContext) -> None:
        self.settings = context.settings

    def find(self, fingerprint: str, *, recent: bool = False) -> RemoteTicket | None:
        return None  # the ledger itself is the only record

    def create(self, draft: TicketDraft) -> RemoteTicket:
        return RemoteTicket(ref=draft.fingerprint, status="open")

    def update(self, ref: str, draft: TicketDraft, note: str | None, delivery_id: str) -> None:
        return None

    def close(self, ref: str, note: str, delivery_id: str) -> None:
        return None

    def delivered(self, ref: str, delivery_id: str) -> bool:
        return True

    def fetch(self, refs: Sequence[str]) -> Mapping[str, RemoteTicket]:
        return {}  # states change only through the agent's own commands

    def check(self) -> list[str]:
        return []

    def close_connection(self) -> None:
        return None


@hookimpl
def tma_register_ticket_backends(register: Callable[[BackendInfo], None]) -> None:
    register(
        BackendInfo(
            name="ledger",
            title="The agent's own ledger (no ticket system)",
            factory=LedgerBackend,
            settings_model=TicketSettings,
            reads_validations=False,
        )
    )
