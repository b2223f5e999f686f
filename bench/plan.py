"""Benchmark `tma plan` on a big backlog: N open requests (bulk inserted) over 40 sites of six
stacks, a team of six with overlapping skills, 4 weeks, French holidays, 20 % reserve.

Prints the solver's status per phase, the objectives reached, the SLA misses, what did not fit
and the seconds, for the workers and time limits given (docs/planning.md quotes its numbers).

    .venv/bin/python bench/plan.py [--requests 300] [--time-limit 5] [--workers 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from tma_agent.config import load_config
from tma_agent.ledger import Ledger, make_engine, upgrade_ledger
from tma_agent.ledger.models import Kind, Request, WorkState
from tma_agent.service.planning.build import build_plan

START = dt.date(2026, 12, 14)
STACKS = ("drupal", "wordpress", "magento", "prestashop", "composer", "npm")
TEAM = """team:
  - {name: Alice, skills: [drupal, composer], hours_per_week: 35}
  - {name: Bob, skills: [wordpress, prestashop, magento], hours_per_week: 28, off: [2026-12-24]}
  - {name: Chloe, skills: [drupal, wordpress, npm], hours_per_week: 35}
  - {name: David, skills: [magento, composer, npm], hours_per_week: 35, off: ["2026-12-21..2026-12-24"]}
  - {name: Emma, skills: [drupal, prestashop], hours_per_week: 21, weekdays: [mon, tue, thu]}
  - {name: Farid, skills: [wordpress, drupal, magento], hours_per_week: 35}
"""


def write_config(directory: Path, limit: float, workers: int) -> Path:
    lines = [
        f"state_dir: {directory / 'state'}",
        "timezone: Europe/Paris",
        TEAM.rstrip(),
        "planning: {weeks: 4, reserve_percent: 20, country: FR, "
        f"solver: {{time_limit_seconds: {limit}, workers: {workers}}}}}",
        "clients:",
        "  - {id: acme, name: Acme}",
        "sites:",
        *(
            f"  - {{id: s{n:02d}, client: acme, stack: {STACKS[n % len(STACKS)]}, "
            f"environments: {{production: {{path: /srv/s{n:02d}}}}}}}"
            for n in range(40)
        ),
    ]
    path = directory / "tma.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def fill(ledger: Ledger, count: int) -> None:
    rng = random.Random(7)  # noqa: S311 (a reproducible backlog, not a secret)
    kinds = (Kind.PREVENTIVE, Kind.CORRECTIVE, Kind.EVOLUTIVE)
    rows = []
    for n in range(count):
        created = dt.datetime(2026, 12, 14, 9, tzinfo=dt.UTC) - dt.timedelta(
            days=rng.randint(0, 10)
        )
        rows.append(
            {
                "fingerprint": f"bench:{n}",
                "site": f"s{n % 40:02d}",
                "client": "acme",
                "group_key": f"manual:{n}",
                "kind": rng.choice(kinds),
                "priority": rng.choice(("low", "normal", "normal", "high", "urgent")),
                "estimate_minutes": rng.choice((30, 60, 60, 90, 120, 180)),
                "title": f"request {n}",
                "description": "",
                "target_digest": "",
                "targets": [],
                "state": WorkState.ESTIMATED,
                "created_at": created,
                "updated_at": created,
            }
        )
    with ledger.session() as session:
        session.execute(insert(Request), rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--time-limit", type=float, default=5)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(write_config(Path(tmp), args.time_limit, args.workers))
        engine = make_engine(f"sqlite:///{tmp}/ledger.db")
        upgrade_ledger(engine)
        ledger = Ledger(engine)
        fill(ledger, args.requests)
        began = time.monotonic()
        plan = build_plan(config, ledger, STACKS, start=START)
        took = time.monotonic() - began
        engine.dispose()
    totals, solver = plan["totals"], plan["solver"]
    print(
        f"{args.requests} requests, {len(plan['people'])} people, {len(plan['load'])} week rows: "
        f"{took:.2f} s in all, solver {solver['seconds']:.2f} s ({solver['status']}), "
        f"objectives {solver['objectives']}; planned {totals['planned_hours']} h of "
        f"{totals['capacity_hours']} h, {totals['overload_hours']} h over, "
        f"{totals['sla_misses']} SLA misses, {totals['does_not_fit']} do not fit"
    )


if __name__ == "__main__":
    main()
