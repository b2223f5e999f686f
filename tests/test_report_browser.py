"""The report's HTML in a real headless Chromium: a screenshot kept as a test artifact (in the
test's tmp_path and in .artifacts/ at the repository's root, path printed), not blank; and the
burn-down chart's PNG is the same bytes at every rendering."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from PIL import Image
from report_ledger import seed, write_config

from tma_agent.billing.report.chart import burndown_png
from tma_agent.billing.report.i18n import Formats
from tma_agent.config import load_config
from tma_agent.ledger import open_ledger
from tma_agent.testing.cli import run_tma

ARTIFACTS = Path(__file__).resolve().parents[1] / ".artifacts"


def _ink(image: Image.Image) -> int:
    """Pixels that are not (nearly) white."""
    grey = image.convert("L")
    return sum(count for level, count in enumerate(grey.histogram()) if level < 240)


def test_the_html_report_renders_in_chromium(tmp_path: Path) -> None:
    from tma_agent.billing.report.pdf import screenshot

    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    seed(config)
    html_path = tmp_path / "report.html"
    result = run_tma(
        "report", "monthly", "--client", "acme", "--month", "2026-03", "--format", "html",
        "--lang", "en", "--output", str(html_path), config=config,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    shot = tmp_path / "report.png"
    screenshot(html_path.read_text(encoding="utf-8"), shot)
    ARTIFACTS.mkdir(exist_ok=True)
    kept = ARTIFACTS / "report-monthly-en.png"
    shutil.copyfile(shot, kept)
    print(f"screenshot: {shot} (kept as {kept})")

    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 30_000
    image = Image.open(io.BytesIO(data))
    assert image.size == (1200, 1600)
    # Text, tables and the chart: a blank or unstyled page has far less ink.
    assert _ink(image) > 40_000
    # The chart (blue burn-down) is drawn: pixels of its colour exist in the page.
    raw = image.convert("RGB").tobytes()
    pixels = zip(raw[0::3], raw[1::3], raw[2::3], strict=True)
    blue = sum(1 for r, g, b in pixels if b > 200 and r < 80 and 90 < g < 140)
    assert blue > 500


def test_the_chart_is_reproducible_and_carries_no_version(tmp_path: Path) -> None:
    from tma_agent.billing.report.data import gather

    config_path = write_config(tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}")
    seed(config_path)
    config = load_config(config_path)
    with open_ledger(config) as ledger, ledger.session() as session:
        bucket = gather(session, config, "acme", "2026-03")["bucket"]
    first = burndown_png(bucket, Formats("fr"))
    assert first == burndown_png(bucket, Formats("fr"))
    assert first != burndown_png(bucket, Formats("en"))  # its labels are translated
    assert b"Software" not in first and b"matplotlib" not in first.lower()
    image = Image.open(io.BytesIO(first))
    assert image.size == (800, 320)
    assert _ink(image) > 5_000
