"""A small agency for the time-entry tests: one client with two sites, a config written to
disk for the real CLI, and the ledger written in-process as a capability does (through
`record_intervention`, the one function every capability calls)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tma_agent.billing.record import record_intervention
from tma_agent.billing.time_entries import queue_time_entry
from tma_agent.config import Config, load_config
from tma_agent.ledger import open_ledger
from tma_agent.ledger.models import Intervention, Kind, OutboxItem, Request, WorkState, utcnow
from tma_agent.testing.cli import run_tma

__all__ = ["DAY", "Agency"]

DAY = dt.date(2026, 11, 5)


class Agency:
    def __init__(
        self,
        tmp_path: Path,
        tickets: dict[str, Any],
        database_url: str | None = None,
        *,
        timeout: float = 10,
    ) -> None:
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.timeout = timeout
        self.write(tickets)

    def write(self, tickets: dict[str, Any]) -> None:
        config: dict[str, Any] = {
            "state_dir": str(self.tmp_path / "state"),
            "http": {"timeout": self.timeout, "retries": 1},
            "timezone": "Europe/Paris",
            "clients": [{"id": "acme", "name": "ACME"}],
            "billing": {"increment_minutes": 1, "minimum_minutes": 1},
            "sites": [
                {
                    "id": name,
                    "client": "acme",
                    "stack": "drupal",
                    "environments": {
                        "production": {
                            "path": str(self.tmp_path / name),
                            "url": f"https://{name}.example",
                        }
                    },
                }
                for name in ("www", "intranet")
            ],
            "tickets": tickets,
        }
        if self.database_url:
            config["database"] = {"url": self.database_url}
        self.config_path = self.tmp_path / "tma.yaml"
        self.config_path.write_text(json.dumps(config, indent=1))

    @property
    def config(self) -> Config:
        return load_config(self.config_path)

    def tma(self, *args: str) -> Any:
        return run_tma(*args, config=self.config_path)

    def request(self, ticket_ref: str | None, site: str = "www") -> int:
        """A request whose ticket is `ticket_ref` (as `tma run` leaves it after the create)."""
        with open_ledger(self.config) as ledger, ledger.session() as session:
            request = Request(
                fingerprint=f"tma:{site}:{ticket_ref}:{utcnow().timestamp()}",
                site=site,
                client="acme",
                group_key="site",
                kind=Kind.PREVENTIVE,
                priority="normal",
                estimate_minutes=60,
                title="Updates",
                description="updates",
                target_digest="0" * 64,
                targets=[],
                state=WorkState.ESTIMATED,
                ticket_backend="test",
                ticket_ref=ticket_ref,
            )
            session.add(request)
            session.flush()
            return request.id

    def log(
        self,
        minutes: int,
        *,
        site: str = "www",
        kind: str = "corrective",
        request_id: int | None = None,
        actor: str = "agent",
        description: str = "Security update of drupal/core",
        day: dt.date = DAY,
    ) -> int:
        with open_ledger(self.config) as ledger, ledger.session() as session:
            intervention = record_intervention(
                session,
                self.config,
                site=site,
                kind=kind,
                action="manual",
                description=description,
                actor=actor,
                measured_minutes=minutes,
                request_id=request_id,
                spent_on=day,
            )
            return intervention.id

    def edit(self, intervention_id: int, minutes: int) -> None:
        """What `tma time edit` does: a new revision, its update queued."""
        with open_ledger(self.config) as ledger, ledger.session() as session:
            intervention = session.get(Intervention, intervention_id)
            assert intervention is not None
            intervention.billed_minutes = intervention.measured_minutes = minutes
            intervention.revision += 1
            queue_time_entry(session, intervention, "time_update")

    def delete(self, intervention_id: int) -> None:
        with open_ledger(self.config) as ledger, ledger.session() as session:
            intervention = session.get(Intervention, intervention_id)
            assert intervention is not None
            intervention.deleted_at = utcnow()
            intervention.revision += 1
            queue_time_entry(session, intervention, "time_delete")

    def intervention(self, intervention_id: int) -> Intervention:
        with open_ledger(self.config) as ledger, ledger.session() as session:
            found = session.get(Intervention, intervention_id)
            assert found is not None
            session.expunge(found)
            return found

    def outbox(self) -> list[tuple[str, str, str | None]]:
        """(operation, state, last answer) of every time-entry item, in order."""
        with open_ledger(self.config) as ledger, ledger.session() as session:
            items = session.scalars(
                select(OutboxItem)
                .where(OutboxItem.intervention_id.is_not(None))
                .order_by(OutboxItem.id)
            )
            return [(i.operation, i.state.value, i.last_answer) for i in items]
