"""French and English: the report's words, and Babel's number, date and currency formats.

Hours are shown as h:mm from the integer minutes (90 minutes is 1:30, 20 minutes is 0:20):
exact, unlike a decimal (0.33 h), so every total shown adds up to the ledger's to the minute."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

__all__ = ["LANGS", "Formats", "Lang"]

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = ("fr", "en")
_LOCALES = {"fr": "fr_FR", "en": "en_US"}

_WORDS: dict[str, dict[str, str]] = {
    "title": {"fr": "Rapport mensuel d'interventions", "en": "Monthly maintenance report"},
    "draft": {
        "fr": "BROUILLON : mois non validé",
        "en": "DRAFT: this month is not validated",
    },
    "validated": {"fr": "Validé par {by} le {at}", "en": "Validated by {by} on {at}"},
    "checksum": {"fr": "Empreinte", "en": "Checksum"},
    "interventions": {"fr": "Interventions", "en": "Interventions"},
    "none": {"fr": "Aucune intervention ce mois-ci.", "en": "No interventions this month."},
    "date": {"fr": "Date", "en": "Date"},
    "site": {"fr": "Site", "en": "Site"},
    "request": {"fr": "Demande", "en": "Request"},
    "kind": {"fr": "Type", "en": "Kind"},
    "description": {"fr": "Description", "en": "Description"},
    "who": {"fr": "Intervenant", "en": "Who"},
    "hours": {"fr": "Heures", "en": "Hours"},
    "minutes": {"fr": "Minutes", "en": "Minutes"},
    "total": {"fr": "Total", "en": "Total"},
    "by_kind": {"fr": "Par type", "en": "By kind"},
    "by_site": {"fr": "Par site", "en": "By site"},
    "adjustment": {"fr": "ajustement de #{id} ({month})", "en": "adjustment of #{id} ({month})"},
    "preventive": {"fr": "préventive", "en": "preventive"},
    "corrective": {"fr": "corrective", "en": "corrective"},
    "evolutive": {"fr": "évolutive", "en": "evolutive"},
    "bucket": {"fr": "Forfait", "en": "Bucket"},
    "period": {"fr": "Période du {start} au {end}", "en": "Period from {start} to {end}"},
    "no_contract": {"fr": "Pas de forfait pour ce client.", "en": "No contract for this client."},
    "bought": {"fr": "Acheté pour la période", "en": "Bought for the period"},
    "carried": {"fr": "Report des périodes précédentes", "en": "Carried over"},
    "at_start": {"fr": "Disponible au début du mois", "en": "Available at the month's start"},
    "consumed": {"fr": "Consommé ce mois-ci", "en": "Consumed this month"},
    "remaining": {"fr": "Restant à la fin du mois", "en": "Remaining at the month's end"},
    "overage": {"fr": "Dépassement", "en": "Overage"},
    "overage_amount": {"fr": "Montant du dépassement", "en": "Overage amount"},
    "rate": {"fr": "Taux horaire de dépassement", "en": "Overage hourly rate"},
    "chart": {"fr": "Consommation du forfait", "en": "Bucket burn-down"},
    "chart_remaining": {"fr": "Restant (h)", "en": "Remaining (h)"},
    "chart_ideal": {"fr": "Rythme régulier", "en": "Even pace"},
}


class Formats:
    """Words and formats of one language."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self.locale = _LOCALES[lang]

    def word(self, key: str, **values: object) -> str:
        text = _WORDS[key][self.lang]
        return text.format(**values) if values else text

    def hours(self, minutes: int) -> str:
        """h:mm, the hours grouped the locale's way (1 234:05 / 1,234:05)."""
        sign = "-" if minutes < 0 else ""
        whole, rest = divmod(abs(minutes), 60)
        return f"{sign}{format_decimal(whole, locale=self.locale)}:{rest:02d}"

    def money(self, amount: str | Decimal, currency: str) -> str:
        """1 234,50 € / €1,234.50 (the amount is already rounded to the cent)."""
        return format_currency(Decimal(amount), currency, locale=self.locale)

    def plain_money(self, amount: str | Decimal) -> str:
        """For CSV: no grouping, no symbol, the locale's decimal separator (1234,50 / 1234.50)."""
        text = f"{Decimal(amount):.2f}"
        return text.replace(".", ",") if self.lang == "fr" else text

    def date(self, iso: str) -> str:
        return format_date(dt.date.fromisoformat(iso), "medium", locale=self.locale)

    def month(self, month: str) -> str:
        return format_date(dt.date.fromisoformat(month + "-01"), "LLLL y", locale=self.locale)

    def moment(self, iso: str) -> str:
        """A validation time, in UTC (the same wherever the report is rendered)."""
        when = dt.datetime.fromisoformat(iso)
        return f"{format_date(when.date(), 'long', locale=self.locale)} {when:%H:%M} UTC"
