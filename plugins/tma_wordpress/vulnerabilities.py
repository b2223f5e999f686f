"""What vulnerability data does to a WordPress finding, whichever feed it came from.

A feed (`wordfence.py`, `wpscan.py`) lists every `Vulnerability` it knows for a component:
affected version ranges, patched versions, whether any fix exists. `apply_to_finding` keeps
those whose ranges hold the installed version as `advisories` (one per CVE across feeds) and,
when that is more urgent than the finding's update kind (never lowering it):
- every matched vulnerability has a fixed release -> `security`; `recommended` = the version
  the update check offers (a plugin's or theme's new_version, core's upgrade offer) when it
  fixes them all, else the smallest patched version above the installed one that fixes them
  all. WordPress only installs the latest release, so the offer wins whenever it is safe; the
  smaller version serves sites that pin or update by hand. A candidate hit by another known
  vulnerability of the component (one introduced later) is passed over when a clean one exists;
- some matched vulnerability has no fixed release -> `insecure`; `recommended` is None when
  none of them is fixable, else the version that fixes those that are.
`unknown` findings (Update URI elsewhere, absent from wordpress.org) are treated the same: a
vulnerable plugin is never hidden behind "unknown source". A missing or unreadable installed
version matches nothing (there is nothing to compare).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tma_agent.context import SiteContext
from tma_agent.models import UPDATE_SEVERITY, Advisory, Finding, UpdateKind
from tma_agent.versions import Version

__all__ = [
    "VersionRange",
    "Vulnerability",
    "VulnerabilityFeed",
    "apply_to_finding",
    "parse_version",
    "plan_update",
]

#: Higher is more urgent; `none` and `unknown` rank below everything UPDATE_SEVERITY lists.
_RANK = {kind: rank for rank, kind in enumerate(reversed(UPDATE_SEVERITY))}


def parse_version(raw: object) -> Version | None:
    """A feed's or a site's version string as a Version; None when absent or unreadable."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        return Version(raw)
    except ValueError:
        return None


@dataclass(frozen=True)
class VersionRange:
    """Affected versions; a None bound is open (Wordfence's `*`)."""

    low: Version | None
    low_inclusive: bool
    high: Version | None
    high_inclusive: bool

    def contains(self, version: Version) -> bool:
        if self.low is not None and (
            version < self.low or (version == self.low and not self.low_inclusive)
        ):
            return False
        return self.high is None or (
            version < self.high or (version == self.high and self.high_inclusive)
        )


@dataclass(frozen=True)
class Vulnerability:
    advisory: Advisory
    affected: tuple[VersionRange, ...]
    #: Versions the feed names as fixed (any branch); meaningful only when `fixed`.
    patched: tuple[str, ...]
    #: Whether a fixed release exists at all.
    fixed: bool

    def affects(self, version: Version) -> bool:
        return any(r.contains(version) for r in self.affected)


class VulnerabilityFeed(Protocol):
    def known_for(self, site: SiteContext, finding: Finding) -> list[Vulnerability]:
        """Every vulnerability the feed knows for this component, affecting it or not."""
        ...


def plan_update(
    installed: Version,
    offered: str | None,
    matched: Sequence[Vulnerability],
    known: Sequence[Vulnerability],
) -> tuple[UpdateKind, str | None]:
    """The update kind and recommended version for vulnerabilities `matched` (module docstring);
    `known` is everything known for the component, used to pass over unsafe targets."""
    fixable = [v for v in matched if v.fixed]
    kind: UpdateKind = "security" if len(fixable) == len(matched) else "insecure"
    if not fixable:
        return "insecure", None
    candidates: dict[Version, str] = {}
    for raw in [*(p for v in fixable for p in v.patched), offered]:
        version = parse_version(raw)
        if version is not None and version > installed and raw is not None:
            candidates.setdefault(version, raw)
    fixes_all = [c for c in sorted(candidates) if not any(v.affects(c) for v in fixable)]
    clean = [c for c in fixes_all if not any(v.affects(c) for v in known)]
    chosen = clean or fixes_all
    if not chosen:
        return "insecure", None
    offer = parse_version(offered)
    return kind, candidates[offer if offer in chosen else chosen[0]]


def _merge_advisories(finding: Finding, advisories: Sequence[Advisory]) -> None:
    # Feeds give one vulnerability different ids: the CVE is what tells duplicates apart.
    seen = {a.cve or a.id for a in finding.advisories}
    for advisory in advisories:
        key = advisory.cve or advisory.id
        if key not in seen:
            seen.add(key)
            finding.advisories.append(advisory)


def apply_to_finding(finding: Finding, known: Sequence[Vulnerability]) -> None:
    installed = parse_version(finding.installed)
    if installed is None:
        return
    matched = [v for v in known if v.affects(installed)]
    if not matched:
        return
    _merge_advisories(finding, [v.advisory for v in matched])
    offered = finding.recommended if finding.recommended != finding.installed else None
    kind, recommended = plan_update(installed, offered, matched, known)
    if _RANK.get(kind, -1) < _RANK.get(finding.update, -1):
        return  # a more urgent verdict (revoked...) stands
    finding.update = kind
    if recommended != finding.recommended:
        finding.recommended = recommended
        finding.released = None  # it described the release no longer recommended
