"""The configured timezone decides the day, hence the month and the bucket, of work ending
late in the evening (across DST changes); bucket alerts are raised once per period and
threshold, past 100 % too. In process against the real ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import select

from tma_agent.billing.alerts import check_alerts, check_all_alerts
from tma_agent.billing.bucket import bucket_status
from tma_agent.billing.record import MonthLocked, record_intervention
from tma_agent.config import Config, load_config
from tma_agent.ledger import Ledger, make_engine, upgrade_ledger
from tma_agent.ledger.models import BucketAlert, Intervention, MonthValidation

UTC = dt.UTC


def _config(tmp_path: Path, url: str, timezone: str) -> Config:
    path = tmp_path / f"tma-{timezone.replace('/', '-')}.yaml"
    path.write_text(
        f"state_dir: {tmp_path / 'state'}\n"
        f"database: {{url: '{url}'}}\n"
        f"timezone: {timezone}\n"
        "billing: {increment_minutes: 1, minimum_minutes: 0, alerts: [50, 80, 100]}\n"
        "clients:\n"
        "  - {id: acme, name: ACME, contract: {days: 1, hours_per_day: 10}}\n"
        "sites:\n"
        "  - {id: acme-www, client: acme, environments: {production: {path: /srv/a}}}\n"
    )
    return load_config(path)


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    engine = make_engine(database_url)
    upgrade_ledger(engine)
    with Ledger(engine) as opened:
        yield opened


def _ended(config: Config, ledger: Ledger, ended: dt.datetime, minutes: int = 30) -> Intervention:
    with ledger.session() as session:
        return record_intervention(
            session,
            config,
            site="acme-www",
            kind="preventive",
            action="apply",
            description="updates",
            actor="tma-agent",
            started_at=ended - dt.timedelta(minutes=minutes),
            ended_at=ended,
        )


@pytest.mark.parametrize(
    ("ended_utc", "paris", "utc"),
    [
        # January: Paris is UTC+1
        ("2026-01-31T23:30", "2026-02-01", "2026-01-31"),
        ("2026-01-31T22:59", "2026-01-31", "2026-01-31"),
        # the night of the spring change (2026-03-29 01:00 UTC): still +1 at 23:30 UTC
        ("2026-03-28T23:30", "2026-03-29", "2026-03-28"),
        # after it, +2: 22:30 UTC on the 31st is already April in Paris
        ("2026-03-31T22:30", "2026-04-01", "2026-03-31"),
        # summer's last evening (change 2026-10-25 01:00 UTC): +2
        ("2026-10-24T22:30", "2026-10-25", "2026-10-24"),
        # after it, +1 again: 22:30 UTC on the 31st is still October in Paris
        ("2026-10-31T22:30", "2026-10-31", "2026-10-31"),
        ("2026-10-31T23:30", "2026-11-01", "2026-10-31"),
    ],
)
def test_the_timezone_decides_the_day_and_month(
    tmp_path: Path, ledger: Ledger, database_url: str, ended_utc: str, paris: str, utc: str
) -> None:
    ended = dt.datetime.fromisoformat(ended_utc).replace(tzinfo=UTC)
    for zone, day in (("Europe/Paris", paris), ("UTC", utc)):
        entry = _ended(_config(tmp_path, database_url, zone), ledger, ended)
        assert (zone, entry.spent_on.isoformat(), entry.month) == (zone, day, day[:7])
        assert entry.measured_minutes == 30


def test_late_work_counts_in_the_bucket_of_its_local_month(
    tmp_path: Path, ledger: Ledger, database_url: str
) -> None:
    paris = _config(tmp_path, database_url, "Europe/Paris")
    _ended(paris, ledger, dt.datetime(2026, 1, 31, 23, 30, tzinfo=UTC), minutes=90)
    contract = paris.contract_of("acme")
    assert contract is not None
    with ledger.session() as session:
        january = bucket_status(session, "acme", contract, dt.date(2026, 1, 31))
        february = bucket_status(session, "acme", contract, dt.date(2026, 2, 1))
    assert (january.consumed_minutes, february.consumed_minutes) == (0, 90)


def test_work_ending_in_a_validated_local_month_is_refused(
    tmp_path: Path, ledger: Ledger, database_url: str
) -> None:
    paris = _config(tmp_path, database_url, "Europe/Paris")
    with ledger.session() as session:
        session.add(
            MonthValidation(
                client="acme",
                month="2026-02",
                validated_by="Alice",
                source="cli",
                checksum="cd" * 32,
                frozen={},
            )
        )
    with pytest.raises(MonthLocked, match="acme 2026-02 was validated by Alice"):
        _ended(paris, ledger, dt.datetime(2026, 1, 31, 23, 30, tzinfo=UTC))
    # In UTC the same moment is January: open.
    assert (
        _ended(
            _config(tmp_path, database_url, "UTC"),
            ledger,
            dt.datetime(2026, 1, 31, 23, 30, tzinfo=UTC),
        ).month
        == "2026-01"
    )


def test_each_threshold_is_raised_once_per_period(
    tmp_path: Path, ledger: Ledger, database_url: str
) -> None:
    config = _config(tmp_path, database_url, "UTC")
    day = dt.date(2026, 5, 10)

    def work(minutes: int, when: dt.date = day) -> list[dict[str, object]]:
        moment = dt.datetime.combine(when, dt.time(12), tzinfo=UTC)
        _ended(config, ledger, moment, minutes)
        with ledger.session() as session:
            return [a.to_dict() for a in check_alerts(session, config, "acme", when)]

    with structlog.testing.capture_logs() as logs:
        assert work(299) == []  # 49 %
        first = work(1)  # 50 %
        assert [(a["threshold"], a["used_percent"]) for a in first] == [(50, 50)]
        assert work(10) == []  # still 51 %: raised already
        # One jump past two thresholds raises both, once.
        both = work(400)  # 710 / 600
        assert [(a["threshold"], a["used_percent"]) for a in both] == [(80, 118), (100, 118)]
        assert both[1]["bucket"]["overage_minutes"] == 110
        assert "1:50 h of overage" in str(both[1]["message"])
        assert work(60) == []
        june = work(300, dt.date(2026, 6, 1))
        assert [a["threshold"] for a in june] == [50]
    warnings = [(e["threshold"], e["used_percent"]) for e in logs if e["event"] == "bucket alert"]
    assert warnings == [(50, 50), (80, 118), (100, 118), (50, 50)]
    with ledger.session() as session:
        rows = sorted(
            (a.period_start.isoformat(), a.threshold) for a in session.scalars(select(BucketAlert))
        )
        # Time past 100 % was recorded in full, never refused.
        total = sum(i.billed_minutes for i in session.scalars(select(Intervention)))
    assert rows == [("2026-05-01", 50), ("2026-05-01", 80), ("2026-05-01", 100), ("2026-06-01", 50)]
    assert total == 299 + 1 + 10 + 400 + 60 + 300


def test_a_client_without_contract_raises_nothing_and_all_clients_are_checked(
    tmp_path: Path, ledger: Ledger, database_url: str
) -> None:
    config = _config(tmp_path, database_url, "UTC")
    with ledger.session() as session:
        assert check_alerts(session, config, "nobody", dt.date(2026, 5, 1)) == []
    _ended(config, ledger, dt.datetime(2026, 5, 2, 12, tzinfo=UTC), 480)
    with ledger.session() as session:
        assert [a.threshold for a in check_all_alerts(session, config, dt.date(2026, 5, 3))] == [
            50,
            80,
        ]
        assert check_all_alerts(session, config, dt.date(2026, 5, 3)) == []
