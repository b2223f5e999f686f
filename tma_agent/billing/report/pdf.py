"""PDF from the report's HTML with headless Chromium's print-to-PDF (Debian `chromium`), and
the PDF's dates set to the validation time (pypdf) for a validated month: its text and its
dates are then the same at every rendering (Chromium's document id is not)."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from tma_agent.errors import TmaError

__all__ = ["ChromiumError", "chromium", "html_to_pdf", "screenshot"]

_TIMEOUT = 120


class ChromiumError(TmaError):
    """Chromium is missing or failed (exit 2: install Debian's `chromium`)."""

    exit_code = 2


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumError("PDF needs Chromium: install the Debian package `chromium`")


def _run(html: str, *options: str) -> None:
    with tempfile.TemporaryDirectory(prefix="tma-chromium-") as work:
        page = Path(work) / "report.html"
        page.write_text(html, encoding="utf-8")
        argv = [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
            f"--user-data-dir={Path(work) / 'profile'}", *options, page.as_uri(),
        ]  # fmt: skip
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=_TIMEOUT)  # noqa: S603
        except subprocess.TimeoutExpired:
            raise ChromiumError(f"Chromium did not finish within {_TIMEOUT} s") from None
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise ChromiumError(f"Chromium failed (exit {done.returncode}): {last}")


def html_to_pdf(html: str, validated_at: str | None = None) -> bytes:
    with tempfile.TemporaryDirectory(prefix="tma-pdf-") as out:
        target = Path(out) / "report.pdf"
        _run(html, "--no-pdf-header-footer", f"--print-to-pdf={target}")
        if not target.is_file():
            raise ChromiumError("Chromium wrote no PDF")
        data = target.read_bytes()
    return data if validated_at is None else _set_dates(data, validated_at)


def _set_dates(data: bytes, iso: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    when = dt.datetime.fromisoformat(iso).astimezone(dt.UTC)
    stamp = when.strftime("D:%Y%m%d%H%M%SZ")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.add_metadata({"/CreationDate": stamp, "/ModDate": stamp})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def screenshot(html: str, target: Path, *, width: int = 1200, height: int = 1600) -> None:
    """A PNG of the page as a browser shows it (the tests keep it as an artifact)."""
    _run(html, f"--window-size={width},{height}", f"--screenshot={target}")
    if not target.is_file():
        raise ChromiumError("Chromium wrote no screenshot")
