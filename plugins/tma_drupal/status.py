"""Classify one installed project against its release history, as Drupal's update module does.

This follows `update_calculate_project_update_status()` (core/modules/update/update.compare.inc)
step by step, so a site's report agrees with its own "Available updates" page:

1. project_status `insecure` → insecure, `unpublished`/`revoked` → revoked, `unsupported` →
   unsupported; nothing else is computed from releases for the status.
2. The target major is the installed major when the installed version starts with a supported
   branch, else the first valid supported branch's major (and the project is unsupported); never
   lower than the installed major.
3. Releases are scanned newest first down to the installed one. The installed release decides
   insecure (typed Insecure), revoked (not published) or unsupported (outside the supported
   branches or typed Unsupported). Other unpublished, unsupported or insecure releases are
   skipped. `recommended` is the newest release of the target major whose version without extra
   has a stable release (else the newest of that major); releases newer than the installed one
   typed "Security update" are the security updates.
4. Current when installed is the recommended or the latest release of the target major (so the
   newest pre-release counts as current), else not current.

The agent maps NOT_CURRENT with security updates to `security`, otherwise to `feature` when a
release between the installed one and the recommended one is typed "New features", else `bugfix`.
`latest` is the newest stable, published, supported release of any major.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tma_agent.models import Advisory, UpdateKind
from tma_agent.versions import DrupalVersion, parse_drupal
from tma_drupal.releases import Release, ReleaseHistory

__all__ = ["Classification", "classify"]

#: project_status values that decide the status before any release is looked at.
_PROJECT_STATUS: dict[str, UpdateKind] = {
    "insecure": "insecure",
    "unpublished": "revoked",
    "revoked": "revoked",
    "unsupported": "unsupported",
}


@dataclass
class Classification:
    update: UpdateKind
    recommended: str | None = None
    latest: str | None = None
    advisories: list[Advisory] = field(default_factory=list)
    #: Why the status is `unknown` (for the log), empty otherwise.
    reason: str = ""


def classify(
    installed: str | None, history: ReleaseHistory, *, datestamp: int | None = None
) -> Classification:
    """The update status of `installed` given its project's feed (`datestamp` for dev builds)."""
    latest = _latest_stable(history)
    project_status = _PROJECT_STATUS.get(history.project_status or "")
    if project_status is not None:
        return Classification(project_status, None, latest)
    if not installed:
        return Classification("unknown", None, latest, reason="no installed version")
    try:
        existing = parse_drupal(installed)
    except ValueError:
        return Classification("unknown", None, latest, reason=f"invalid version {installed!r}")
    branches = _supported_branches(history, existing)
    status: UpdateKind | None = None
    if _in_branches(installed, branches):
        target_major = existing.major
    elif branches:
        status = "unsupported"
        target_major = _first_branch_major(branches, existing)
    else:
        target_major = existing.major  # malformed feed: stay on the installed major
    target_major = max(existing.major, target_major)
    if not history.releases:
        return Classification(status or "unknown", None, latest, reason="no releases")

    scan = _Scan(installed, existing, target_major, branches, datestamp)
    for release in history.releases:
        if scan.visit(release):
            break
    if scan.status is not None:
        status = scan.status
    recommended = scan.recommended
    if recommended is None and scan.latest_in_target and scan.last_release_supported:
        recommended = scan.latest_in_target
    advisories = [_advisory(r) for r in scan.security_updates]
    if status is not None:
        return Classification(status, recommended, latest, advisories)
    if recommended is None:
        return Classification("unknown", None, latest, reason="no recommended release")
    if scan.is_current(recommended):
        return Classification("none", recommended, latest)
    if advisories:
        return Classification("security", recommended, latest, advisories)
    kind: UpdateKind = "feature" if scan.has_new_features() else "bugfix"
    return Classification(kind, recommended, latest)


class _Scan:
    """The newest-first walk of update_calculate_project_update_status() over the releases."""

    def __init__(
        self,
        installed: str,
        existing: DrupalVersion,
        target_major: int,
        branches: tuple[str, ...],
        datestamp: int | None,
    ) -> None:
        self.installed, self.existing, self.target_major = installed, existing, target_major
        self.branches, self.datestamp = branches, datestamp
        self.status: UpdateKind | None = None
        self.recommended: str | None = None
        self.latest_in_target: str | None = None
        self.latest_in_target_date: int | None = None
        self.dev_in_target: Release | None = None
        self.security_updates: list[Release] = []
        #: Accepted releases of the target major newer than the installed one, newest first,
        #: and how many of them are newer than the recommended one.
        self.newer_in_target: list[Release] = []
        self._newer_than_recommended = 0
        self.last_release_supported = False
        self._recommended_base = ""
        self._recommended_candidate: Release | None = None

    def visit(self, release: Release) -> bool:
        """Account for one release; True once the installed release is reached."""
        try:
            version = parse_drupal(release.version)
        except ValueError:
            return False  # core ignores releases it cannot parse
        supported = _in_branches(release.version, self.branches) and not release.is_unsupported
        self.last_release_supported = supported
        is_installed = release.version == self.installed
        if is_installed:
            if release.is_insecure:
                self.status = "insecure"
            elif not release.is_published:
                self.status = "revoked"
            elif not supported:
                self.status = "unsupported"
        elif not release.is_published or not supported or release.is_insecure:
            return False
        elif release.date is None and version.is_dev:
            return False  # stub dev releases without a date
        if version.major > self.target_major:
            return False  # "also available": a newer major is not this major's update
        if version.major == self.target_major:
            if self.latest_in_target is None:
                self.latest_in_target, self.latest_in_target_date = release.version, release.date
            if self.dev_in_target is None and version.is_dev:
                self.dev_in_target = release
            if self.recommended is None and supported:
                if self._recommended_base != version.without_extra:
                    self._recommended_base = version.without_extra
                    self._recommended_candidate = release
                if version.extra is None and self._recommended_candidate is not None:
                    self.recommended = self._recommended_candidate.version
            if not is_installed:
                self.newer_in_target.append(release)
                if self.recommended is None:
                    self._newer_than_recommended = len(self.newer_in_target)
        if is_installed:
            return True
        if self.existing.is_dev and (
            self.datestamp is None or (release.date and self.datestamp + 100 > release.date)
        ):
            return False  # a dev build newer than this release is not missing its fixes
        if release.is_security_release:
            self.security_updates.append(release)
        return False

    def is_current(self, recommended: str) -> bool:
        if not self.existing.is_dev:
            return self.installed in (recommended, self.latest_in_target)
        newest = self.latest_in_target_date
        if self.dev_in_target and (self.dev_in_target.date or 0) > (newest or 0):
            newest = self.dev_in_target.date
        # 100 s of leeway: the info file datestamp and the tarball date differ by a second or two.
        return self.datestamp is not None and self.datestamp + 100 > (newest or 0)

    def has_new_features(self) -> bool:
        """Whether a release from the recommended one down to the installed one adds features
        (every newer release of the major when the recommended one is the latest fallback)."""
        skipped = self._newer_than_recommended if self.recommended is not None else 0
        between = self.newer_in_target[skipped:]
        return any("New features" in r.release_types for r in between)


def _supported_branches(history: ReleaseHistory, existing: DrupalVersion) -> tuple[str, ...]:
    if history.supported_branches:
        return history.supported_branches
    # Drupal 7 feeds without supported_branches list supported majors instead.
    prefix = f"{existing.core_prefix}-" if existing.core_prefix else ""
    return tuple(f"{prefix}{major}." for major in history.supported_majors)


def _in_branches(version: str, branches: tuple[str, ...]) -> bool:
    return any(version.startswith(branch) for branch in branches)


def _first_branch_major(branches: tuple[str, ...], existing: DrupalVersion) -> int:
    for branch in branches:
        try:
            return parse_drupal(branch + "0").major
        except ValueError:
            continue
    return existing.major


def _latest_stable(history: ReleaseHistory) -> str | None:
    candidates: list[tuple[tuple[int, int, int, int, int], str]] = []
    for release in history.releases:
        if not release.is_published or release.is_insecure or release.is_unsupported:
            continue
        if history.supported_branches and not _in_branches(
            release.version, history.supported_branches
        ):
            continue
        try:
            version = parse_drupal(release.version)
        except ValueError:
            continue
        if version.is_stable:
            candidates.append((version.sort_key(), release.version))
    return max(candidates)[1] if candidates else None


def _advisory(release: Release) -> Advisory:
    return Advisory(
        id=release.advisory_id or release.version,
        url=release.release_link,
        title=f"Security update {release.version}",
    )
