"""Benchmark one client's monthly CSV report (its rows, totals and bucket) on a ledger of
100,000 interventions over 50 clients and 24 months, against a bare SQL query returning the
same rows and totals, in the same run (goal <= 3x). In-process: no CLI start-up is timed.

    .venv/bin/python bench/report_csv.py [--interventions 100000] [--runs 15] [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from tma_agent.billing.report.freeze import report_document
from tma_agent.billing.report.render import render_csv
from tma_agent.config import Config, load_config
from tma_agent.ledger import open_ledger
from tma_agent.ledger.models import Intervention, Kind, Request

GOAL = 3.0
CLIENTS, MONTHS = 50, 24
FIRST = dt.date(2025, 1, 1)


def _config(work: Path, url: str) -> Config:
    contract = {"days": 10, "period": "monthly", "start": FIRST.isoformat(),
                "carry_over": {"mode": "capped", "max_days": 2}, "overage_rate": 95}  # fmt: skip
    document = {
        "state_dir": str(work / "state"),
        "database": {"url": url},
        "clients": [
            {"id": f"c{i:02d}", "name": f"Client {i}", "contract": contract} for i in range(CLIENTS)
        ],
    }
    (work / "tma.yaml").write_text(yaml.safe_dump(document))
    return load_config(work / "tma.yaml")


def _fill(session: Session, count: int) -> None:
    """Bulk inserts (Core executemany), a request for one intervention in four."""
    rng = random.Random(8)  # noqa: S311 - reproducible test data, no secrets
    kinds = list(Kind)
    # Core inserts on the connection: one executemany per batch, no ORM unit of work.
    connection = session.connection()
    connection.execute(
        insert(Request.__table__),
        [
            {"fingerprint": f"fp-{i}", "site": "s", "client": "c", "group_key": "g",
             "kind": Kind.PREVENTIVE, "priority": "normal", "estimate_minutes": 60,
             "title": "t", "description": "d", "target_digest": "x" * 64, "targets": [],
             "state": "new", "ticket_ref": f"#{1000 + i}" if i % 2 else None}
            for i in range(count // 4)
        ],
    )  # fmt: skip
    rows = []
    for i in range(count):
        client = i % CLIENTS
        day = FIRST + dt.timedelta(days=rng.randrange(MONTHS * 365 // 12))
        minutes = rng.choice((15, 30, 45, 60, 90, 120))
        rows.append(
            {"client": f"c{client:02d}", "site": f"c{client:02d}-site{rng.randrange(4)}",
             "request_id": (i // 4) + 1 if i % 4 == 0 else None, "kind": rng.choice(kinds),
             "action": "apply", "description": f"intervention {i}", "actor": "agent",
             "measured_minutes": minutes, "billed_minutes": minutes, "spent_on": day,
             "month": f"{day.year:04d}-{day.month:02d}"}
        )  # fmt: skip
    for start in range(0, count, 10_000):
        connection.execute(insert(Intervention.__table__), rows[start : start + 10_000])


def _bare(session: Session, client: str, month: str) -> tuple[list[Any], ...]:
    """The same rows and totals, straight from SQL: the rows, the totals by kind and site, and
    the client's consumption per month (what the bucket and its carry-over are made of)."""
    live = (Intervention.client == client, Intervention.deleted_at.is_(None))
    rows = session.execute(
        select(Intervention.id, Intervention.spent_on, Intervention.site, Request.fingerprint,
               Request.ticket_ref, Intervention.kind, Intervention.description,
               Intervention.actor, Intervention.billed_minutes, Intervention.adjusts_id)
        .outerjoin(Request, Request.id == Intervention.request_id)
        .where(*live, Intervention.month == month)
        .order_by(Intervention.spent_on, Intervention.id)
    ).all()  # fmt: skip
    totals = session.execute(
        select(Intervention.kind, Intervention.site, func.sum(Intervention.billed_minutes))
        .where(*live, Intervention.month == month)
        .group_by(Intervention.kind, Intervention.site)
    ).all()
    months = session.execute(
        select(Intervention.month, func.sum(Intervention.billed_minutes))
        .where(*live, Intervention.month <= month)
        .group_by(Intervention.month)
    ).all()
    return rows, totals, months


def _median(function: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interventions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database-url", help="Default: a SQLite file in a temporary folder.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tma-bench-") as tmp:
        work = Path(tmp)
        config = _config(work, args.database_url or f"sqlite:///{work / 'ledger.db'}")
        with open_ledger(config) as ledger:
            start = time.perf_counter()
            with ledger.session() as session:
                _fill(session, args.interventions)
            print(f"ledger: {args.interventions} interventions, {CLIENTS} clients, "
                  f"{MONTHS} months, filled in {time.perf_counter() - start:.1f} s")  # fmt: skip
            client, month = "c07", "2026-06"  # late in the ledger: 17 periods to carry over
            with ledger.session() as session:
                csv_text = render_csv(report_document(session, config, client, month), "en")
                rows, _totals, _months = _bare(session, client, month)
                entries = [line for line in csv_text.splitlines() if line.startswith("entry,")]
                assert len(entries) == len(rows) > 0, (len(entries), len(rows))
                total = sum(r.billed_minutes for r in rows)
                assert f"total,,,,,,,{total}," in csv_text
                for _ in range(3):  # warm-up: caches, compiled statements
                    render_csv(report_document(session, config, client, month), "en")
                    _bare(session, client, month)
                bare = _median(lambda: _bare(session, client, month), args.runs)
                ours = _median(
                    lambda: render_csv(report_document(session, config, client, month), "en"),
                    args.runs,
                )
        ratio = ours / bare
        verdict = "ok" if ratio <= GOAL else "OVER"
        print(f"bare SQL (rows, totals, months)  median {bare * 1000:7.2f} ms  ({len(rows)} rows)")
        print(f"monthly CSV report               median {ours * 1000:7.2f} ms")
        print(f"ratio {ratio:.2f}x  goal <= {GOAL:.0f}x  {verdict}")
        return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
