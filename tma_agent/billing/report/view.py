"""Totals of a report document (by kind, by site, overall), computed from its entries the
same way for every format, so each format's totals are the ledger's sums to the minute."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["KINDS", "Totals", "totals"]

KINDS = ("preventive", "corrective", "evolutive")


@dataclass(frozen=True)
class Totals:
    minutes: int
    #: (kind, minutes) in KINDS order, only kinds with entries.
    by_kind: list[tuple[str, int]]
    #: (site, minutes) sorted by site.
    by_site: list[tuple[str, int]]


def totals(document: dict[str, Any]) -> Totals:
    kinds: dict[str, int] = {}
    sites: dict[str, int] = {}
    for entry in document["entries"]:
        kinds[entry["kind"]] = kinds.get(entry["kind"], 0) + entry["billed_minutes"]
        sites[entry["site"]] = sites.get(entry["site"], 0) + entry["billed_minutes"]
    return Totals(
        sum(kinds.values()),
        [(k, kinds[k]) for k in KINDS if k in kinds],
        sorted(sites.items()),
    )
