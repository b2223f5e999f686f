"""The data that flows between the runner and the stack plugins."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "SECURITY_KINDS",
    "UPDATE_SEVERITY",
    "Advisory",
    "Component",
    "ComponentKind",
    "Detection",
    "Finding",
    "PolicyOutcome",
    "SiteReport",
    "SiteStatus",
    "SourceError",
    "SourceInfo",
    "StackInfo",
    "UpdateKind",
]

ComponentKind = Literal["core", "module", "theme", "plugin", "profile", "package"]
UpdateKind = Literal[
    "none", "bugfix", "feature", "security", "unsupported", "revoked", "insecure", "unknown"
]
#: `partial`: some components were evaluated but at least one source failed (`source_errors`);
#: `error`: nothing could be evaluated.
SiteStatus = Literal["ok", "updates", "partial", "unreachable", "error"]
PolicyOutcome = Literal["ignored", "too_recent", "not_allowed"]

#: Update kinds that mean "this component needs attention", most urgent first.
UPDATE_SEVERITY: tuple[UpdateKind, ...] = (
    "insecure",
    "revoked",
    "security",
    "unsupported",
    "bugfix",
    "feature",
)
#: Update kinds that make `--fail-on security` fail the run.
SECURITY_KINDS: frozenset[str] = frozenset({"security", "insecure", "revoked"})


@dataclass(frozen=True)
class StackInfo:
    """A stack a plugin knows how to check (registered through `tma_register_stacks`)."""

    name: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class SourceInfo:
    """An upstream source a plugin reads, with its default base URL (`sources.<name>.url`)."""

    name: str
    default_url: str
    description: str = ""


@dataclass(frozen=True)
class Detection:
    """What `tma_detect_stack` found: the stack and the document root inside the site path."""

    stack: str
    root: str
    version: str | None = None


@dataclass
class Component:
    """One installed thing on a site, as read from its files (no upstream data yet)."""

    name: str
    kind: ComponentKind
    installed: str | None
    #: Where the version was read from (file path relative to the root), for error messages.
    origin: str = ""
    #: Stack-specific facts (Drupal core major, WordPress plugin file, Update URI...).
    extra: dict[str, Any] = field(default_factory=dict)
    #: Set when the file describing this component was bad (unreadable, over
    #: `limits.max_file_bytes`, unparsable, too deep): a one-line reason naming the file. The
    #: runner reports such a component `unknown` with that reason; no stack evaluates it.
    problem: str | None = None


@dataclass(frozen=True)
class Advisory:
    id: str
    cve: str | None = None
    severity: str | None = None
    url: str | None = None
    title: str | None = None


@dataclass
class Finding:
    """One component with what upstream says of it: a row of `tma check`."""

    name: str
    kind: ComponentKind
    installed: str | None
    latest: str | None
    recommended: str | None
    update: UpdateKind
    advisories: list[Advisory] = field(default_factory=list)
    source: str = "unknown"
    #: ISO date the `recommended` release was published, when the source tells (for
    #: `min_release_age_days`).
    released: str | None = None
    #: Set by update policies: `ignored`, `too_recent` or `not_allowed`, with the reason.
    policy: PolicyOutcome | None = None
    policy_reason: str | None = None
    #: Why `update` is `unknown` when a site file was bad (unreadable, over
    #: `limits.max_file_bytes`, unparsable, too deep, outside the site tree).
    reason: str | None = None
    #: The security data for this component could not be read (a source failed): it must
    #: never look clean.
    advisories_unavailable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SourceError:
    """A source that failed for one site while others answered (`SiteReport.source_errors`)."""

    source: str
    url: str
    error: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SiteReport:
    """The outcome of checking one site (DESIGN.md "Findings")."""

    site: str
    stack: str | None
    env: str
    status: SiteStatus
    error: str | None = None
    components: list[Finding] = field(default_factory=list)
    source_errors: list[SourceError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "stack": self.stack,
            "env": self.env,
            "status": self.status,
            "error": self.error,
            "components": [c.to_dict() for c in self.components],
            "source_errors": [e.to_dict() for e in self.source_errors],
        }

    @property
    def has_security_findings(self) -> bool:
        return any(c.update in SECURITY_KINDS and c.policy != "ignored" for c in self.components)
