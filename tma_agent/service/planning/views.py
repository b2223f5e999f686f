"""The plan for people: a table per week and person, then one line per request; and CSV,
one row per request, for a spreadsheet."""

from __future__ import annotations

import csv
import io
from typing import Any

__all__ = ["CSV_COLUMNS", "plan_csv", "plan_table"]

CSV_COLUMNS = (
    "id",
    "site",
    "client",
    "title",
    "category",
    "priority",
    "hours",
    "person",
    "start",
    "end",
    "deadline",
    "status",
    "late_days",
)


def plan_csv(plan: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in plan["requests"]:
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return out.getvalue()


def _load_cell(entry: dict[str, Any]) -> str:
    cell = f"{entry['planned_hours']:g}/{entry['capacity_hours']:g}"
    if entry["overload_hours"]:
        cell += f" +{entry['overload_hours']:g} over"
    return cell


def plan_table(plan: dict[str, Any], width: int | None) -> str:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(width=width or 200, file=io.StringIO(), record=True)
    weeks = list(dict.fromkeys(e["week"] for e in plan["load"]))
    console.print(
        f"workload from {plan['start']} to {plan['end']}: planned/capacity hours per week",
        highlight=False,
    )
    load = Table()
    load.add_column("person")
    for week in weeks:
        load.add_column(week, justify="right")
    for person in plan["people"]:
        cells = {e["week"]: e for e in plan["load"] if e["person"] == person["name"]}
        # Names come from the configuration: shown as written, never read as rich markup.
        load.add_row(escape(person["name"]), *(_load_cell(cells[w]) for w in weeks))
    console.print(load)
    requests = Table()
    for column in (
        "id",
        "site",
        "priority",
        "hours",
        "person",
        "start",
        "end",
        "deadline",
        "status",
    ):
        requests.add_column(column, overflow="fold")
    for row in plan["requests"]:
        requests.add_row(
            *(escape(str(row[c])) for c in ("id", "site", "priority")),
            f"{row['hours']:g}",
            *(escape(row[c] or "-") for c in ("person", "start", "end", "deadline")),
            row["status"] + (f" ({row['late_days']} d)" if row["late_days"] else ""),
        )
    console.print(requests)
    totals = plan["totals"]
    console.print(
        f"{totals['requests']} requests, {totals['planned_hours']:g} h planned of "
        f"{totals['capacity_hours']:g} h (reserve {plan['reserve_percent']} % kept), "
        f"{totals['overload_hours']:g} h over capacity",
        highlight=False,
    )
    for key, said in (("does_not_fit", "does not fit"), ("sla_misses", "misses its SLA")):
        if plan[key]:
            console.print(f"{said}: " + ", ".join(f"#{i}" for i in plan[key]), highlight=False)
    solver = plan["solver"]
    first = solver["status"].startswith("unknown")
    kept = " (nothing better in time: the earliest-deadline-first plan)" if first else ""
    console.print(f"solver: {solver['status']} in {solver['seconds']:g} s{kept}", highlight=False)
    return console.export_text()
