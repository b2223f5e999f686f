"""Screenshots with a headless Chromium and their comparison, behind the `visual.check` step.

Chromium runs on the agent's machine against the site's URL. `--virtual-time-budget` makes the
page's clock advance only as the browser gets idle, and the screenshot is taken once the budget
is spent or the page has nothing left to do (network, timers), so two shots of an unchanged page
are the same picture, not two moments of a load. A fresh profile per shot keeps caches, cookies
and a second browser started at the same time out of it.

The comparison counts pixels where some channel differs by more than a tolerance (anti-aliasing
and JPEG-like noise move a channel by a few units; a real change moves it by far more), outside
masked rectangles (a date, a carousel), over the unmasked area.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

from tma_agent.errors import TmaError

__all__ = [
    "DEFAULT_CHROMIUM",
    "Comparison",
    "Rect",
    "VisualError",
    "compare_images",
    "find_chromium",
    "screenshot",
]

DEFAULT_CHROMIUM = "/usr/bin/chromium"
_INSTALL_HINT = (
    "install the Debian package `chromium` (apt-get install chromium) on the agent's machine"
)


class VisualError(TmaError):
    """The screenshot could not be taken or the images not compared (one line)."""


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    width: int
    height: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.x + self.width, self.y + self.height)


@dataclass(frozen=True)
class Comparison:
    #: Changed pixels over the pixels compared (the unmasked area), 0.0 to 1.0.
    ratio: float
    changed: int
    compared: int
    #: The after image faded to grey, changed pixels in red, masked areas tinted blue.
    diff: Image.Image


def find_chromium(configured: str | None = None) -> str:
    """The browser to run: `configured`, else /usr/bin/chromium, else one on PATH."""
    candidates = [configured] if configured else [DEFAULT_CHROMIUM, "chromium", "chromium-browser"]
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    raise VisualError(f"Chromium not found ({', '.join(candidates)}): {_INSTALL_HINT}")


def screenshot(
    url: str,
    out: Path,
    *,
    width: int = 1280,
    height: int = 1024,
    chromium: str | None = None,
    budget_ms: int = 5000,
    timeout: float = 60.0,
) -> Path:
    """A PNG of the viewport of `url` at `width`x`height`, written to `out`."""
    browser = find_chromium(chromium)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="tma-chromium-") as profile:
        argv = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--mute-audio",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--virtual-time-budget={budget_ms}",
            "--run-all-compositor-stages-before-draw",
            f"--screenshot={out}",
            # The URL is one argv item after "--": Chromium never reads it as a switch.
            "--",
            url,
        ]
        try:
            result = subprocess.run(  # noqa: S603 - argv, no shell; the URL is data
                argv, capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise VisualError(f"{url}: Chromium took more than {timeout:g} s") from None
    if result.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        raise VisualError(f"{url}: Chromium made no screenshot ({_last_line(result.stderr)})")
    return out


def compare_images(
    before: Path, after: Path, *, tolerance: int = 32, masks: list[Rect] | tuple[Rect, ...] = ()
) -> Comparison:
    """Compare two screenshots; images of different sizes are compared on the larger canvas,
    the area only one of them covers counting as changed."""
    with Image.open(before) as first, Image.open(after) as second:
        a = first.convert("RGB")
        b = second.convert("RGB")
    size = (max(a.width, b.width), max(a.height, b.height))
    overlap = (0, 0, min(a.width, b.width), min(a.height, b.height))
    difference = ImageChops.difference(_on_canvas(a, size), _on_canvas(b, size))
    # 255 where some channel moved by more than the tolerance.
    channels = [band.point(lambda v: 255 if v > tolerance else 0) for band in difference.split()]
    changed_mask = ImageChops.lighter(ImageChops.lighter(channels[0], channels[1]), channels[2])
    if a.size != b.size:
        outside = Image.new("L", size, 255)
        outside.paste(0, overlap)
        changed_mask = ImageChops.lighter(changed_mask, outside)
    masked = Image.new("L", size, 0)
    draw = ImageDraw.Draw(masked)
    for rect in masks:
        draw.rectangle(_inclusive(rect.box), fill=255)
    changed_mask = ImageChops.subtract(changed_mask, masked)
    masked_pixels = masked.histogram()[255]
    compared = size[0] * size[1] - masked_pixels
    changed = changed_mask.histogram()[255]
    ratio = changed / compared if compared else 0.0
    return Comparison(
        ratio, changed, compared, _diff_image(_on_canvas(b, size), changed_mask, masked)
    )


def _on_canvas(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    canvas = Image.new("RGB", size, (0, 0, 0))
    canvas.paste(image, (0, 0))
    return canvas


def _inclusive(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    # ImageDraw's rectangle includes its far corner; a mask of width w covers x .. x+w-1.
    x0, y0, x1, y1 = box
    return (x0, y0, x1 - 1, y1 - 1)


def _diff_image(after: Image.Image, changed: Image.Image, masked: Image.Image) -> Image.Image:
    faded = Image.blend(
        after.convert("L").convert("RGB"), Image.new("RGB", after.size, "white"), 0.6
    )
    tinted = Image.composite(Image.new("RGB", after.size, (120, 160, 255)), faded, masked)
    return Image.composite(Image.new("RGB", after.size, (255, 0, 0)), tinted, changed)


def _last_line(stderr: bytes) -> str:
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    # Chromium exits 0 without a screenshot when the page does not load, saying why among
    # D-Bus and IPC noise: that line is the reason.
    for line in lines:
        if "Page load failed:" in line:
            return "page load failed:" + line.split("Page load failed:", 1)[1]
    return " ".join(lines[-1].split())[:200] if lines else "no output"
