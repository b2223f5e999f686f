"""The bucket's burn-down over its period, drawn by matplotlib (Agg) as a PNG data URI.

Reproducible bytes: a fixed size and dpi, the fonts matplotlib ships, the PNG's metadata
(matplotlib's version) left out, and the axis labels formatted here rather than by the
machine's locale."""

from __future__ import annotations

import base64
import datetime as dt
import io
from typing import Any

from babel.dates import format_date

from tma_agent.billing.report.i18n import Formats

__all__ = ["burndown_png", "data_uri"]


def burndown_png(bucket: dict[str, Any], formats: Formats) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    start = dt.date.fromisoformat(bucket["period_start"])
    last = dt.date.fromisoformat(bucket["period_end"])
    length = (last - start).days + 1
    xs = [(dt.date.fromisoformat(day) - start).days for day, _ in bucket["burndown"]]
    ys = [minutes / 60 for _, minutes in bucket["burndown"]]
    available = bucket["available_minutes"] / 60

    figure = Figure(figsize=(8, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(
        [0, length], [available, 0], color="#9aa5b1", linestyle="--", linewidth=1.2,
        label=formats.word("chart_ideal"),
    )  # fmt: skip
    axes.step(
        [*xs, xs[-1] + 1], [*ys, ys[-1]], where="post", color="#1f6feb", linewidth=2,
        label=formats.word("chart_remaining"),
    )  # fmt: skip
    axes.fill_between([*xs, xs[-1] + 1], [*ys, ys[-1]], step="post", color="#1f6feb", alpha=0.12)
    axes.axhline(0, color="#cf222e", linewidth=0.8)
    axes.set_xlim(0, length)
    ticks = sorted({0, length // 2, length - 1}) if length > 2 else [0]
    axes.set_xticks(ticks)
    labels = [
        format_date(start + dt.timedelta(days=t), "d MMM", locale=formats.locale) for t in ticks
    ]
    axes.set_xticklabels(labels)
    axes.set_ylabel(formats.word("chart_remaining"))
    axes.grid(True, color="#e5e7eb", linewidth=0.6)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.legend(loc="upper right", frameon=False, fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()
