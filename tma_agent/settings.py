"""The reusable blocks of the configuration: SSH settings, sources, update policies.

`tma_agent.config` assembles them into the whole file's model and loads it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tma_agent.hosts._settings import SSHSettings

__all__ = [
    "ComposerRepository",
    "IgnoreRule",
    "Policy",
    "RepositoryAuth",
    "SSHOverride",
    "SSHSettings",
    "SourceSettings",
    "Strict",
    "UpdateLevel",
]


class Strict(BaseModel):
    """Unknown keys are errors; loaded settings never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SSHOverride(Strict):
    """The same keys as `ssh`, all optional: only those given replace the outer value."""

    key_file: str | None = None
    known_hosts: str | None = None
    connect_timeout: float | None = Field(None, gt=0)
    command_timeout: float | None = Field(None, gt=0)
    keepalive: int | None = Field(None, ge=0)
    strict_host_keys: bool | None = None
    use_agent: bool | None = None

    def apply_to(self, base: SSHSettings) -> SSHSettings:
        return base.model_copy(update=self.model_dump(exclude_unset=True))


class RepositoryAuth(Strict):
    """HTTP basic credentials, as in Composer's auth.json (`http-basic`): use `$env`/`$file`."""

    username: str
    password: str


class ComposerRepository(Strict):
    url: str
    auth: RepositoryAuth | None = None

    _http = field_validator("url")(lambda cls, v: _http_url(v))


class SourceSettings(Strict):
    """One upstream source. `url` is its base URL; any other key (a token, repositories...) is
    kept as written for the model the plugin reading the source declares
    (`tma_register_settings`), which validates it once plugins are loaded."""

    model_config = ConfigDict(extra="allow", frozen=True)

    url: str | None = None

    _http = field_validator("url")(lambda cls, v: _http_url(v))


def _http_url(value: str | None) -> str | None:
    if value is not None and not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http:// or https:// URL")
    return value


UpdateLevel = Literal["security", "patch", "minor", "major"]


class IgnoreRule(Strict):
    """Leave a component out of the work to do, for a reason, optionally for some versions
    (a constraint such as `<4.1`) and until a date."""

    component: str
    versions: str | None = None
    reason: str
    until: date | None = None


class Policy(Strict):
    """Update policy; global `policies`, then `clients[].policies`, then `sites[].policies`:
    a key given at a narrower level replaces the wider one, `ignore` and `pin` add up."""

    #: Update kinds wanted. `security` is any security fix whatever its size.
    allow: list[UpdateLevel] | None = None
    #: Hold back a non-security release younger than this many days.
    min_release_age_days: int | None = Field(None, ge=0)
    ignore: list[IgnoreRule] = Field(default_factory=list)
    #: component -> version constraint it must stay within (`drupal: "^10.3"`).
    pin: dict[str, str] = Field(default_factory=dict)
    #: Update kinds `tma run` applies in staging by itself once their request is open
    #: (`[security]`); None or empty: nothing is applied without a `tma apply`.
    auto_apply: list[UpdateLevel] | None = None

    def merged_with(self, narrower: Policy | None) -> Policy:
        if narrower is None:
            return self
        return Policy(
            allow=narrower.allow if narrower.allow is not None else self.allow,
            min_release_age_days=(
                narrower.min_release_age_days
                if narrower.min_release_age_days is not None
                else self.min_release_age_days
            ),
            ignore=[*self.ignore, *narrower.ignore],
            pin={**self.pin, **narrower.pin},
            auto_apply=narrower.auto_apply if narrower.auto_apply is not None else self.auto_apply,
        )
