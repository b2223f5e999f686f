"""Bucket alerts: a client's bucket reaching a threshold of `billing.alerts` (80 %, 100 %)
is raised once per period, whoever notices first (`tma time log`, `tma run`). The row in
`bucket_alerts` (unique on client, period, threshold) is what makes it once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tma_agent.billing.bucket import BucketStatus, bucket_status
from tma_agent.config import Config
from tma_agent.ledger.models import BucketAlert

__all__ = ["Alert", "check_alerts", "check_all_alerts"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Alert:
    client: str
    threshold: int
    used_percent: int
    period_start: dt.date
    status: BucketStatus

    @property
    def message(self) -> str:
        over = self.status.overage_minutes
        tail = f", {over // 60}:{over % 60:02d} h of overage" if over else ""
        return (
            f"{self.client}: {self.used_percent} % of the bucket used since "
            f"{self.period_start.isoformat()} (threshold {self.threshold} %{tail})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "threshold": self.threshold,
            "used_percent": self.used_percent,
            "period_start": self.period_start.isoformat(),
            "message": self.message,
            "bucket": self.status.to_dict(),
        }


def check_alerts(session: Session, config: Config, client: str, today: dt.date) -> list[Alert]:
    """The thresholds the client's bucket reached in today's period and that were not raised
    yet in it, recorded (in the caller's unit of work) and logged; [] without a contract."""
    contract = config.contract_of(client)
    if contract is None:
        return []
    status = bucket_status(session, client, contract, today)
    used = status.used_percent
    reached = [t for t in config.billing.alerts if used >= t]
    if not reached:
        return []
    raised = set(
        session.scalars(
            select(BucketAlert.threshold).where(
                BucketAlert.client == client, BucketAlert.period_start == status.period_start
            )
        )
    )
    alerts = []
    for threshold in reached:
        if threshold in raised:
            continue
        try:
            # A savepoint: another process raising it at the same moment loses nothing else.
            with session.begin_nested():
                session.add(
                    BucketAlert(
                        client=client, period_start=status.period_start, threshold=threshold
                    )
                )
        except IntegrityError:
            continue
        alert = Alert(client, threshold, used, status.period_start, status)
        from tma_agent.billing.notices import queue_notice

        queue_notice(session, config, alert)
        log.warning("bucket alert", client=client, threshold=threshold, used_percent=used)
        alerts.append(alert)
    return alerts


def check_all_alerts(session: Session, config: Config, today: dt.date) -> list[Alert]:
    """`check_alerts` for every client with a contract (the end of `tma run`)."""
    alerts = []
    for client in config.clients:
        if client.contract is not None:
            alerts.extend(check_alerts(session, config, client.id, today))
    return alerts
