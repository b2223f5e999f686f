"""The work to plan: open requests of the ledger, each with its SLA category, the stack its
site runs, the time left in its estimate and its deadline in working days."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select

from tma_agent.config import Config
from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import Intervention, Kind, Request, WorkState
from tma_agent.service.planning.calendar import UNIT_MINUTES
from tma_agent.tickets.plan import Target

__all__ = ["OPEN_STATES", "Category", "Demand", "load_demand", "sla_category"]

Category = Literal["security", "bugfix", "feature"]

#: Work still to do: in production, closed or rejected requests need nobody any more.
OPEN_STATES = (WorkState.NEW, WorkState.ESTIMATED, WorkState.IN_STAGING, WorkState.TESTED)


@dataclass(frozen=True)
class Demand:
    request_id: int
    site: str
    client: str
    title: str
    kind: str
    priority: str
    category: Category
    #: The stack of the site (the skill it needs); None: no stack, or a site no longer
    #: configured: anyone may do it.
    stack: str | None
    estimate_minutes: int
    logged_minutes: int
    estimated: bool
    created: dt.date
    deadline: dt.date

    @property
    def units(self) -> int:
        """Quarter hours left to plan: the estimate minus the time already logged on it,
        at least one quarter hour (an open request still needs someone to close it)."""
        left = max(self.estimate_minutes - self.logged_minutes, 0)
        return max(1, math.ceil(left / UNIT_MINUTES))


def sla_category(request: Request) -> Category:
    """Urgent requests, and preventive ones fixing a security issue, get the security SLA;
    evolutions the feature SLA; every other request (corrective, routine updates) bugfix."""
    if request.priority == "urgent":
        return "security"
    if request.kind == Kind.PREVENTIVE and any(
        Target.from_dict(t).security for t in request.targets or []
    ):
        return "security"
    if request.kind == Kind.EVOLUTIVE:
        return "feature"
    return "bugfix"


def sla_days_for(config: Config, client: str, category: Category) -> int:
    contract = config.contract_of(client)
    override = contract.sla_days if contract is not None else None
    days = getattr(override, category) if override is not None else None
    return int(days if days is not None else getattr(config.planning.sla_days, category))


def load_demand(
    ledger: Ledger,
    config: Config,
    tz: dt.tzinfo,
    add_business_days: Callable[[dt.date, int], dt.date],
) -> list[Demand]:
    """Every open request, oldest first (their ids break ties in the same order each time)."""
    sites = {s.id: s for s in config.sites}
    unestimated = round(config.planning.unestimated_hours * 60)
    with ledger.session() as session:
        requests = session.scalars(
            select(Request).where(Request.state.in_(OPEN_STATES)).order_by(Request.id)
        ).all()
        logged: dict[int | None, int] = {
            request_id: int(minutes or 0)
            for request_id, minutes in session.execute(
                select(Intervention.request_id, func.sum(Intervention.measured_minutes))
                .where(
                    Intervention.request_id.in_([r.id for r in requests]),
                    Intervention.deleted_at.is_(None),
                )
                .group_by(Intervention.request_id)
            )
        }
        demand = []
        for r in requests:
            site = sites.get(r.site)
            category = sla_category(r)
            created = r.created_at.astimezone(tz).date()
            deadline = add_business_days(created, sla_days_for(config, r.client, category))
            demand.append(
                Demand(
                    request_id=r.id,
                    site=r.site,
                    client=r.client,
                    title=r.title,
                    kind=r.kind.value,
                    priority=r.priority,
                    category=category,
                    stack=site.stack if site is not None else None,
                    estimate_minutes=r.estimate_minutes or unestimated,
                    # Corrections may be negative; what was logged never adds work.
                    logged_minutes=max(0, logged.get(r.id, 0)),
                    estimated=bool(r.estimate_minutes),
                    created=created,
                    deadline=deadline,
                )
            )
    return demand
