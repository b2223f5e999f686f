"""Benchmark `tma contract status` for every client on a big ledger: 100,000 interventions over
50 clients and 24 months (bulk inserted), contracts of every period and carry-over rule.

Timed in the same run, median of N: the in-process function behind the command
(`tma_agent.billing.status.contract_statuses`: the ORM, the grouped query, the carry-over walk
and the dicts printed) against the bare SQL aggregate it rests on (billed minutes per client and
month, on the raw DBAPI cursor). Goal: ratio <= 3. The numbers are checked equal (each client's
consumed minutes from both). The CLI itself (interpreter start included) is timed once, for
information.

    .venv/bin/python bench/billing_status.py [--rows 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from tma_agent.billing.periods import add_months, month_of, period_of
from tma_agent.billing.status import contract_statuses
from tma_agent.config import Config, load_config
from tma_agent.ledger import Ledger, make_engine, upgrade_ledger
from tma_agent.ledger.models import Intervention, Kind, utcnow

GOAL = 3.0
FIRST_MONTH = dt.date(2025, 1, 1)
TODAY = dt.date(2026, 12, 15)
#: The same filter as the function's query (its clients): the planner gets the same chance.
BARE = (
    "SELECT client, month, SUM(billed_minutes) FROM interventions "
    "WHERE deleted_at IS NULL AND client IN ({}) GROUP BY client, month"
)


def write_config(directory: Path, url: str, clients: int) -> Path:
    periods = ("monthly", "quarterly", "yearly")
    carries = ("{mode: none}", "{mode: all}", "{mode: capped, max_days: 2}")
    lines = [f"state_dir: {directory / 'state'}", f"database: {{url: '{url}'}}", "clients:"]
    for n in range(clients):
        lines.append(
            f"  - {{id: c{n:02d}, name: Client {n}, contract: {{days: {5 + n % 20}.5, "
            f"hours_per_day: 7.5, period: {periods[n % 3]}, carry_over: {carries[n % 3]}, "
            f"overage_rate: 95, start: {add_months(FIRST_MONTH, n % 5).isoformat()}}}}}"
        )
    lines.append("sites: []")
    path = directory / "tma.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def fill(ledger: Ledger, rows: int, clients: int, months: int) -> None:
    rng = random.Random(8)  # noqa: S311 (reproducible data, not secrets)
    batch: list[dict[str, Any]] = []
    now = utcnow()
    for n in range(rows):
        day = add_months(FIRST_MONTH, rng.randrange(months)) + dt.timedelta(days=rng.randrange(28))
        minutes = rng.choice((15, 30, 45, 60, 90, 120, 240))
        client = f"c{rng.randrange(clients):02d}"
        batch.append(
            dict(
                client=client,
                site=f"{client}-www",
                kind=Kind.CORRECTIVE,
                action="manual",
                description="work",
                actor="dev",
                measured_minutes=minutes,
                billed_minutes=minutes,
                spent_on=day,
                month=month_of(day),
                deleted_at=now if n % 97 == 0 else None,
                revision=0,
                created_at=now,
                updated_at=now,
            )
        )
        if len(batch) == 10_000:
            with ledger.session() as session:
                session.execute(insert(Intervention), batch)
            batch = []
    if batch:
        with ledger.session() as session:
            session.execute(insert(Intervention), batch)


def median(runs: int, work: Callable[[], object]) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def bare(ledger: Ledger, clients: list[str]) -> dict[str, dict[str, int]]:
    raw = ledger.engine.raw_connection()
    mark = "?" if ledger.engine.dialect.paramstyle == "qmark" else "%s"
    try:
        cursor = raw.cursor()
        cursor.execute(BARE.format(", ".join([mark] * len(clients))), clients)
        sums: dict[str, dict[str, int]] = {}
        for client, month, minutes in cursor.fetchall():
            sums.setdefault(client, {})[month] = int(minutes)
        cursor.close()
        return sums
    finally:
        raw.close()


def statuses(ledger: Ledger, config: Config) -> list[dict[str, Any]]:
    with ledger.session() as session:
        return contract_statuses(session, config, TODAY)


def check_same(config: Config, rows: list[dict[str, Any]], sums: dict[str, dict[str, int]]) -> None:
    for row in rows:
        contract = config.contract_of(row["client"])
        assert contract is not None
        start, end = period_of(contract, TODAY)
        months = sums.get(row["client"], {})
        expected = sum(m for key, m in months.items() if month_of(start) <= key < month_of(end))
        if row["consumed_minutes"] != expected:
            raise SystemExit(f"{row['client']}: {row['consumed_minutes']} != bare {expected}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", help="Default: a new SQLite file in a temp dir.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'ledger.db'}"
        config_path = write_config(Path(tmp), url, args.clients)
        config = load_config(config_path)
        engine = make_engine(url)
        upgrade_ledger(engine)
        with Ledger(engine) as ledger:
            start = time.perf_counter()
            fill(ledger, args.rows, args.clients, args.months)
            built = time.perf_counter() - start
            print(f"ledger: {args.rows} interventions, {args.clients} clients, "
                  f"{args.months} months, built in {built:.1f} s")  # fmt: skip
            statuses(ledger, config)
            ids = [c.id for c in config.clients]
            bare(ledger, ids)  # warm both: caches, compiled statements
            base, sums = median(args.runs, lambda: bare(ledger, ids))
            ours, rows = median(args.runs, lambda: statuses(ledger, config))
            assert isinstance(rows, list) and isinstance(sums, dict)
            check_same(config, rows, sums)
        cli_start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "tma_agent", "--config", str(config_path), "contract",
             "status", "--date", TODAY.isoformat(), "--format", "json"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        cli = time.perf_counter() - cli_start
        assert len(json.loads(result.stdout)["clients"]) == args.clients
    ratio = ours / base
    verdict = "ok" if ratio <= GOAL else "OVER"
    print(f"bare SQL aggregate          median {base * 1000:8.1f} ms")
    print(f"contract status, all        median {ours * 1000:8.1f} ms  ratio {ratio:.2f}  "
          f"goal <= {GOAL:.0f}  {verdict}")  # fmt: skip
    print(f"tma contract status (CLI)   once   {cli * 1000:8.1f} ms  (interpreter start included)")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
