"""A site's database credentials: from the config (`environments.<env>.database`) or read from
the site's own settings file by its stack (`tma_site_database`), one model either way."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator, model_validator

from tma_agent._masking import remember_secret
from tma_agent.apply.php_literals import PhpFile, PhpSyntaxError, Unparsed, parse_php
from tma_agent.errors import SiteTreeError
from tma_agent.hosts import Host

__all__ = ["SiteDatabase", "from_settings", "literal_fields", "read_php_settings"]

#: `localhost:3307`, `db.example:3306`, `[::1]:3307`; mysqli's persistent `p:` prefix.
_HOST_PORT = re.compile(r"^(?:p:)?(\[[^\]]+\]|[^:/]+):(\d{1,5})$")
_HOST_SOCKET = re.compile(r"^(?:p:)?([^:/]*):(/.+)$")


class SiteDatabase(BaseModel):
    """Where a site's database is and how to log in. `socket` wins over host and port for
    MySQL/MariaDB (as the PHP clients do); `prefix` is the site's table prefix, for notes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    driver: Literal["mysql", "pgsql"] = "mysql"
    host: str = "localhost"
    port: int | None = None
    name: str
    user: str
    #: Masked everywhere once known (config, logs, errors, outputs).
    password: SecretStr = SecretStr("")
    socket: str | None = None
    prefix: str = ""

    @field_validator("name", "user")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("port")
    @classmethod
    def _port_range(cls, value: int | None) -> int | None:
        if value is not None and not 0 < value < 65536:
            raise ValueError("must be a TCP port (1-65535)")
        return value

    @model_validator(mode="after")
    def _remember_password(self) -> SiteDatabase:
        # A password written in clear in the config or read from a site's settings file is a
        # secret all the same: from now on no message, log or output may show it.
        remember_secret(self.password.get_secret_value())
        return self

    def describe(self) -> str:
        """Where, without the password: `mysql site_db@localhost:3306`."""
        where = self.socket or (f"{self.host}:{self.port}" if self.port else self.host)
        return f"{self.driver} {self.name}@{where}"


def from_settings(
    path: str,
    *,
    driver: Any = "mysql",
    host: Any = None,
    port: Any = None,
    name: Any,
    user: Any,
    password: Any = "",
    socket: Any = None,
    prefix: Any = "",
) -> SiteDatabase:
    """A SiteDatabase from the values a settings file holds (PHP literals), with the host forms
    PHP accepts: `host:port`, `host:/socket/path`, a bare socket path, mysqli's `p:`.
    A value that is missing or no plain value is a `SiteTreeError` naming `path`."""
    values = literal_fields(path, {"name": name, "user": user})
    extra = literal_fields(
        path,
        {"password": password, "prefix": prefix, "host": host, "port": port, "socket": socket},
        required=False,
    )
    drivers = {"mysql": "mysql", "mysqli": "mysql", "pdo_mysql": "mysql", "mariadb": "mysql"}
    drivers["pgsql"] = "pgsql"
    drivers.update({"pdo_pgsql": "pgsql", "postgres": "pgsql", "postgresql": "pgsql"})
    kind = str(driver).rsplit("\\", 1)[-1].lower() if not isinstance(driver, Unparsed) else ""
    if kind not in drivers:
        raise SiteTreeError(f"{path}: database driver {kind or driver!r} is not supported")
    host_text = str(extra.get("host") or "localhost").strip()
    port_value = extra.get("port")
    socket_value = extra.get("socket") or None
    if found := _HOST_PORT.match(host_text):
        host_text, port_value = found.group(1).strip("[]"), found.group(2)
    elif found := _HOST_SOCKET.match(host_text):
        host_text, socket_value = found.group(1) or "localhost", found.group(2)
    elif host_text.startswith("/"):
        host_text, socket_value = "localhost", host_text
    try:
        return SiteDatabase(
            driver=drivers[kind],
            host=host_text or "localhost",
            port=int(port_value) if port_value not in (None, "") else None,
            name=str(values["name"]),
            user=str(values["user"]),
            password=SecretStr(str(extra.get("password") or "")),
            socket=str(socket_value) if socket_value else None,
            prefix=str(extra.get("prefix") or ""),
        )
    except (ValueError, TypeError) as exc:
        reason = str(exc).splitlines()
        detail = reason[2].strip() if len(reason) > 2 else reason[0]
        raise SiteTreeError(f"{path}: bad database settings ({detail})") from None


def literal_fields(
    path: str, fields: Mapping[str, Any], *, required: bool = True
) -> dict[str, Any]:
    """`fields` checked to be plain values: an `Unparsed` one (or a missing required one) is a
    one-line `SiteTreeError` naming the file, the field and the line."""
    checked: dict[str, Any] = {}
    for field, value in fields.items():
        if isinstance(value, Unparsed):
            raise SiteTreeError(f"{path}: database {field}: {value.describe()}")
        if isinstance(value, dict):
            raise SiteTreeError(f"{path}: database {field}: an array, expected a value")
        if required and value in (None, ""):
            raise SiteTreeError(f"{path}: no database {field} found")
        checked[field] = value
    return checked


def read_php_settings(host: Host, root: str, candidates: Sequence[str]) -> dict[str, PhpFile]:
    """The settings files among `candidates` (relative to the site tree `root`) that exist,
    parsed, read in one round trip: full path -> PhpFile. A file the host's user may not read or
    that is no PHP a reader can follow is a `SiteTreeError` naming it (never executed)."""
    paths = [posixpath.normpath(posixpath.join(root, rel)) for rel in candidates]
    files = host.read_many(paths)
    parsed: dict[str, PhpFile] = {}
    for path in paths:
        if path in files.problems:
            raise SiteTreeError(f"{path}: {files.problems[path]}")
        content = files[path]
        if content is None:
            continue
        try:
            parsed[path] = parse_php(content, path=path)
        except PhpSyntaxError as exc:
            raise SiteTreeError(f"{path}: cannot read the settings: {exc}") from None
    return parsed
