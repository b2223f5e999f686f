"""A configuration and a ledger of interventions for the report tests, recorded through the
real `record_intervention` (the function every capability calls)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from tma_agent.billing.record import record_intervention
from tma_agent.config import load_config
from tma_agent.ledger import open_ledger

__all__ = ["ENTRIES", "seed", "write_config"]

#: (site, kind, minutes measured, day, who, description): billed with increment 15, minimum 15.
ENTRIES = [
    ("acme-www", "preventive", 50, "2026-03-02", "agent", "Drupal core 10.2.3 → 10.2.4"),
    ("acme-www", "corrective", 20, "2026-03-09", "Élodie", "Formulaire <contact> réparé & testé"),
    ("acme-shop", "evolutive", 430, "2026-03-17", "Marc", "New checkout step"),
    ("acme-shop", "corrective", 90, "2026-03-31", "agent", "Cache | purge"),
    ("acme-www", "preventive", 60, "2026-02-27", "agent", "February, not in March"),
    ("acme-www", "preventive", 45, "2026-04-01", "agent", "April, not in March"),
]


def write_config(
    tmp_path: Path, database_url: str, *, name: str = "ACME SA", rate: str = "95"
) -> Path:
    contract = {
        "days": "1.5", "hours_per_day": 7, "period": "monthly", "start": "2026-01-01",
        "carry_over": {"mode": "capped", "max_days": 1}, "overage_rate": rate, "currency": "EUR",
    }  # fmt: skip
    document: dict[str, Any] = {
        "state_dir": str(tmp_path / "state"),
        "database": {"url": database_url},
        "timezone": "Europe/Paris",
        "clients": [
            {"id": "acme", "name": name, "contract": contract},
            # 3:30 bought, 10:00 billed in March: 6:30 of overage at 250 = 1625.00 (grouping).
            {"id": "other", "name": "Other", "contract": {"days": "0.5", "overage_rate": "250"}},
        ],
        "sites": [
            {
                "id": site,
                "client": client,
                "environments": {
                    "production": {
                        "host": "local",
                        "path": str(tmp_path),
                        "url": "https://example.test",
                    }
                },
            }
            for site, client in (("acme-www", "acme"), ("acme-shop", "acme"), ("o", "other"))
        ],
    }
    path = tmp_path / "tma.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path


def seed(config_path: Path) -> list[int]:
    """Record ENTRIES plus one entry of another client; the ids of ENTRIES."""
    config = load_config(config_path)
    ids = []
    with open_ledger(config) as ledger, ledger.session() as session:
        for site, kind, minutes, day, who, text in ENTRIES:
            intervention = record_intervention(
                session, config, site=site, kind=kind, action="manual", description=text,
                actor=who, measured_minutes=minutes, spent_on=dt.date.fromisoformat(day),
            )  # fmt: skip
            ids.append(intervention.id)
        record_intervention(
            session, config, site="o", kind="corrective", action="manual", description="x",
            actor="agent", measured_minutes=600, spent_on=dt.date(2026, 3, 5),
        )  # fmt: skip
    return ids
