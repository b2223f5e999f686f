"""`tma plan`: the open requests and the team's capacity in, the plan out as one document
(docs/plan.schema.json) that the table and CSV views are drawn from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from tma_agent.billing.periods import zone
from tma_agent.config import Config
from tma_agent.errors import ConfigError
from tma_agent.ledger.database import Ledger
from tma_agent.service.planning.calendar import UNIT_MINUTES, Horizon, capacity_units, make_horizon
from tma_agent.service.planning.demand import Demand, load_demand
from tma_agent.service.planning.settings import TeamMember
from tma_agent.service.planning.solver import Job, Person, Solution, solve

__all__ = ["build_plan", "team_problems"]


def team_problems(config: Config, known_stacks: Collection[str]) -> list[str]:
    """What makes a plan impossible: no team, or a skill no stack plugin knows."""
    if not config.team:
        return [f"{config.where(('team',))}: no team configured (tma plan needs a `team:` list)"]
    try:
        config.check_stacks(known_stacks)
    except ConfigError as exc:
        return str(exc).splitlines()
    return []


def build_plan(
    config: Config,
    ledger: Ledger,
    known_stacks: Collection[str],
    *,
    start: dt.date | None = None,
    weeks: int | None = None,
) -> dict[str, Any]:
    problems = team_problems(config, known_stacks)
    if problems:
        raise ConfigError("\n".join(problems))
    settings = config.planning
    tz = zone(config.timezone)
    start = start or dt.datetime.now(tz).date()
    horizon = make_horizon(start, weeks or settings.weeks, settings)
    demand = load_demand(ledger, config, tz, horizon.calendar.add_business_days)
    people = [_person(m, horizon, settings.reserve_percent) for m in config.team]
    jobs = [
        Job(
            key=d.request_id,
            units=d.units,
            priority=d.priority,
            deadline=horizon.index_of(d.deadline),
            eligible=_eligible(config, d),
        )
        for d in demand
    ]
    solution = solve([j for j in jobs if j.eligible], people, len(horizon.days), settings.solver)
    return _document(config, horizon, people, demand, jobs, solution)


def _person(member: TeamMember, horizon: Horizon, reserve_percent: int) -> Person:
    days = [capacity_units(member, day, reserve_percent) for day in horizon.days]
    return Person(member.name, tuple(net for net, _ in days), tuple(full for _, full in days))


def _eligible(config: Config, demand: Demand) -> tuple[int, ...]:
    # A site without a stack (or no longer configured) needs no particular skill.
    return tuple(
        i
        for i, m in enumerate(config.team)
        if demand.stack is None or demand.stack.casefold() in m.skills
    )


def _hours(units: int) -> float:
    return round(units * UNIT_MINUTES / 60, 2)


def _document(
    config: Config,
    horizon: Horizon,
    people: list[Person],
    demand: list[Demand],
    jobs: list[Job],
    solution: Solution,
) -> dict[str, Any]:
    settings = config.planning
    days = horizon.days
    planned = [[0] * len(days) for _ in people]
    rows = []
    for d, job in zip(demand, jobs, strict=True):
        row = _request_row(d, job, horizon, solution, config)
        if job.key in solution.assigned:
            p, per_day = solution.assigned[job.key]
            for k, units in per_day.items():
                planned[p][k] += units
        rows.append(row)
    load: list[dict[str, Any]] = []
    for week in horizon.weeks:
        for p, person in enumerate(people):
            done = sum(planned[p][k] for k in week.day_indices)
            net = sum(person.net[k] for k in week.day_indices)
            full = sum(person.full[k] for k in week.day_indices)
            load.append(
                {
                    "week": week.label,
                    "monday": week.monday.isoformat(),
                    "person": person.name,
                    "planned_hours": _hours(done),
                    "capacity_hours": _hours(net),
                    "reserve_hours": _hours(full - net),
                    "overload_hours": _hours(max(0, done - net)),
                    "free_hours": _hours(max(0, net - done)),
                }
            )
    misses = [r["id"] for r in rows if r["misses_sla"]]
    left_out = [r["id"] for r in rows if r["status"] in ("does_not_fit", "no_skill")]
    in_horizon = horizon.start, horizon.end
    return {
        "start": horizon.start.isoformat(),
        "end": horizon.end.isoformat(),
        "weeks": len(horizon.weeks),
        "timezone": config.timezone,
        "reserve_percent": settings.reserve_percent,
        "country": settings.country,
        "holidays": [
            {"date": day.isoformat(), "name": name}
            for day in _calendar_days(*in_horizon)
            if (name := horizon.calendar.holiday(day)) is not None
        ],
        "people": [
            {
                "name": m.name,
                "skills": list(m.skills),
                "hours_per_week": m.hours_per_week,
                "days_off": [
                    d.isoformat() for d in sorted(m.off) if in_horizon[0] <= d <= in_horizon[1]
                ],
            }
            for m in config.team
        ],
        "load": load,
        "requests": rows,
        "sla_misses": misses,
        "does_not_fit": left_out,
        "totals": {
            "requests": len(rows),
            "planned_hours": _hours(sum(map(sum, planned))),
            "capacity_hours": _hours(sum(sum(p.net) for p in people)),
            "overload_hours": round(sum(row["overload_hours"] for row in load), 2),
            "sla_misses": len(misses),
            "does_not_fit": len(left_out),
        },
        "solver": {
            "status": solution.status,
            "seconds": round(solution.seconds, 3),
            "objectives": solution.objectives,
            "time_limit_seconds": settings.solver.time_limit_seconds,
            "workers": settings.solver.workers,
            "seed": settings.solver.seed,
        },
    }


def _calendar_days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(n) for n in range((last - first).days + 1)]


def _request_row(
    d: Demand, job: Job, horizon: Horizon, solution: Solution, config: Config
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": d.request_id,
        "site": d.site,
        "client": d.client,
        "title": d.title,
        "kind": d.kind,
        "priority": d.priority,
        "category": d.category,
        "stack": d.stack,
        "hours": _hours(d.units),
        "estimated": d.estimated,
        "logged_hours": round(d.logged_minutes / 60, 2),
        "created": d.created.isoformat(),
        "deadline": d.deadline.isoformat(),
        "person": None,
        "start": None,
        "end": None,
        "days": [],
        "late_days": None,
    }
    assigned = solution.assigned.get(job.key)
    if assigned is None:
        row["status"] = "no_skill" if not job.eligible else "does_not_fit"
        # Not done within the horizon: a deadline inside it is missed for sure.
        row["misses_sla"] = d.deadline <= horizon.end
        return row
    person, per_day = assigned
    worked = sorted(per_day)
    end_index = worked[-1]
    late = max(0, end_index - job.deadline)
    row.update(
        person=config.team[person].name,
        start=horizon.days[worked[0]].isoformat(),
        end=horizon.days[end_index].isoformat(),
        days=[{"date": horizon.days[k].isoformat(), "hours": _hours(per_day[k])} for k in worked],
        late_days=late,
        status="late" if late else "on_time",
        misses_sla=bool(late),
    )
    return row
