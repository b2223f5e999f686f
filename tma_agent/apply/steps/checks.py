"""The check steps, `http.check` (smoke) and `visual.check` (screenshots before and after),
registered with `maintenance` (tma_agent.apply.steps.maintenance) under one entry point.

The checks talk to the environment's `url` from the agent's machine; they change nothing, so a
dry run only says what it would check.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from tma_agent.apply import StepContext, StepFailed, StepInfo, StepResult
from tma_agent.apply.smoke import DEFAULT_MAX_BODY_BYTES, check_page, smoke_client
from tma_agent.apply.steps.maintenance import MAINTENANCE_STEP
from tma_agent.apply.visual import Rect, VisualError, compare_images, find_chromium, screenshot
from tma_agent.hookspecs import hookimpl
from tma_agent.settings import Strict

__all__ = ["VISUAL_FACT", "HttpCheckArgs", "VisualCheckArgs", "tma_register_steps"]

#: Where `visual.check` keeps the before shots: {url: local image path}.
VISUAL_FACT = "visual.before"


class _Pages(Strict):
    #: One page (a path below the environment's `url`), or several with `paths`.
    path: str | None = None
    paths: list[str] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> _Pages:
        if self.path is not None and self.paths is not None:
            raise ValueError("give either path or paths, not both")
        for path in self.page_paths():
            if not path.startswith("/"):
                raise ValueError(f"{path!r}: a page path starts with '/'")
        return self

    def page_paths(self) -> list[str]:
        if self.paths is not None:
            return self.paths
        return [self.path if self.path is not None else "/"]

    def urls(self, ctx: StepContext) -> list[str]:
        base = ctx.environment.url
        if not base:
            raise StepFailed(
                f"site {ctx.site.id}: environments.{ctx.env_name}.url is not set "
                "(the checks need the address of the site)"
            )
        return [base.rstrip("/") + path for path in self.page_paths()]


class HttpCheckArgs(_Pages):
    expect_status: int = Field(200, ge=100, le=599)
    expect_text: str | None = None
    #: False for a staging site behind a self-signed certificate.
    verify_tls: bool = True
    #: Follow redirects and judge the page they end on (by default a redirect is its status).
    follow_redirects: bool = False
    max_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, gt=0, le=64 * 1024 * 1024)


class Mask(Strict):
    x: int = Field(ge=0)
    y: int = Field(ge=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)


class VisualCheckArgs(_Pages):
    phase: Literal["before", "after"]
    #: The changed-pixel ratio above which the `after` phase fails.
    threshold: float = Field(0.01, ge=0, le=1)
    #: How far (0-255) a channel may move and the pixel still count as unchanged.
    tolerance: int = Field(32, ge=0, le=255)
    masks: list[Mask] = Field(default_factory=list)
    width: int = Field(1280, ge=100, le=4096)
    height: int = Field(1024, ge=100, le=8192)
    #: Virtual milliseconds the page may use (scripts, timers, loads) before the shot.
    wait_ms: int = Field(5000, ge=0, le=60000)
    chromium: str | None = None


def http_check(ctx: StepContext, args: HttpCheckArgs) -> StepResult:
    urls = args.urls(ctx)
    if ctx.dry_run:
        for url in urls:
            ctx.note(f"would check {url} (HTTP {args.expect_status})")
        return StepResult(changed=False, data={"checks": []})
    results = []
    # The step's own `timeout:` wins over the configuration's `http.timeout`.
    timeout = ctx.timeout or ctx.config.http.timeout
    with smoke_client(verify=args.verify_tls, follow_redirects=args.follow_redirects) as client:
        for url in urls:
            result = check_page(
                client,
                url,
                timeout=timeout,
                expect_status=args.expect_status,
                expect_text=args.expect_text,
                max_bytes=args.max_bytes,
            )
            results.append(result)
    failed = [r.problem for r in results if r.problem]
    if failed:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise StepFailed(failed[0] + more)
    checks = [{"url": r.url, "status": r.status, "elapsed_ms": r.elapsed_ms} for r in results]
    for check in checks:
        ctx.note(f"{check['url']}: HTTP {check['status']} in {check['elapsed_ms']} ms")
    return StepResult(changed=False, data={"checks": checks})


def pages_preflight(ctx: StepContext, args: _Pages) -> None:
    """Before anything runs: the environment has a `url` to check."""
    args.urls(ctx)


def visual_preflight(ctx: StepContext, args: VisualCheckArgs) -> None:
    pages_preflight(ctx, args)
    try:
        find_chromium(args.chromium)
    except VisualError as exc:
        raise StepFailed(str(exc)) from None


def visual_check(ctx: StepContext, args: VisualCheckArgs) -> StepResult:
    urls = args.urls(ctx)
    if ctx.dry_run:
        for url in urls:
            ctx.note(f"would take the {args.phase} screenshot of {url}")
        return StepResult(changed=False)
    shots: dict[str, str] = dict(ctx.facts.get(VISUAL_FACT) or {})
    if args.phase == "before":
        for url in urls:
            shots[url] = str(_shoot(ctx, args, url, _image_name(url, "before")))
        ctx.facts[VISUAL_FACT] = shots
        return StepResult(changed=False, data={"images": [shots[url] for url in urls]})
    masks = [Rect(m.x, m.y, m.width, m.height) for m in args.masks]
    compared: list[dict[str, Any]] = []
    for url in urls:
        before = shots.get(url)
        if before is None:
            raise StepFailed(f"{url}: no before screenshot (a visual.check phase: before first)")
        after = _shoot(ctx, args, url, _image_name(url, "after"))
        comparison = compare_images(Path(before), after, tolerance=args.tolerance, masks=masks)
        diff = ctx.workdir / _image_name(url, "changes")
        comparison.diff.save(diff)
        # With the page and its ratio: the site page shows the three side by side.
        shown: dict[str, str | float] = {
            "page": url,
            "ratio": round(comparison.ratio, 6),
            "threshold": args.threshold,
        }
        ctx.attach(Path(before), label=f"before: {url}", image="before", **shown)
        ctx.attach(after, label=f"after: {url}", image="after", **shown)
        ctx.attach(diff, label=f"changes: {url}", image="changes", **shown)
        compared.append(
            {
                "url": url,
                "ratio": round(comparison.ratio, 6),
                "threshold": args.threshold,
                "before": before,
                "after": str(after),
                "diff": str(diff),
            }
        )
        ctx.note(f"{url}: {comparison.ratio:.2%} of the page changed (limit {args.threshold:.2%})")
    over = [c for c in compared if c["ratio"] > args.threshold]
    if over:
        first = over[0]
        raise StepFailed(
            f"{first['url']}: {first['ratio']:.2%} of the page changed, "
            f"above the {args.threshold:.2%} threshold"
        )
    return StepResult(changed=False, data={"pages": compared})


def _shoot(ctx: StepContext, args: VisualCheckArgs, url: str, name: str) -> Path:
    try:
        return screenshot(
            url,
            ctx.workdir / name,
            width=args.width,
            height=args.height,
            chromium=args.chromium,
            budget_ms=args.wait_ms,
            timeout=ctx.timeout or 60.0,
        )
    except VisualError as exc:
        raise StepFailed(str(exc)) from None


def _image_name(url: str, kind: str) -> str:
    """One name per URL and kind: readable, and unique however long the URL (its hash)."""
    slug = re.sub(r"[^a-z0-9]+", "-", url.split("://", 1)[-1].lower()).strip("-")[:60]
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]
    return f"visual-{slug}-{digest}-{kind}.png"


@hookimpl
def tma_register_steps(register: Callable[[StepInfo], None]) -> None:
    register(
        StepInfo(
            name="http.check",
            run=http_check,
            args_model=HttpCheckArgs,
            description="GET pages of the site: status, expected text, no PHP or WordPress error",
            preflight=pages_preflight,
        )
    )
    register(
        StepInfo(
            name="visual.check",
            run=visual_check,
            args_model=VisualCheckArgs,
            description="Screenshots before and after; fails when too much of a page changed",
            preflight=visual_preflight,
        )
    )
    register(MAINTENANCE_STEP)
