"""The database a Composer project (Symfony, Laravel) uses, read from its dotenv files (never
executed, nothing expanded).

Symfony: `DATABASE_URL` (`mysql://user:pass@host:3306/name?unix_socket=...`) from
`.env.local.php` (what `composer dump-env` writes: then the `.env` files are not read) or else
`.env` overridden by `.env.local`. Laravel: the same files' `DB_CONNECTION`, `DB_HOST`,
`DB_PORT`, `DB_DATABASE`, `DB_USERNAME`, `DB_PASSWORD`, `DB_SOCKET` (or `DB_URL`).
"""

from __future__ import annotations

import posixpath
import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tma_agent.apply.database import SiteDatabase, from_settings, read_php_settings
from tma_agent.apply.php_literals import Unparsed
from tma_agent.errors import SiteTreeError
from tma_agent.hosts import Host

__all__ = ["DOTENV_FILES", "parse_dotenv", "read_database"]

DUMPED_ENV = ".env.local.php"
#: Read in this order, a later file overriding an earlier one.
DOTENV_FILES = [".env", ".env.local"]
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_KEYS = ("DATABASE_URL", "DB_URL", "DB_CONNECTION", "DB_DATABASE")
_FIELDS = {"DATABASE_URL": "url", "DB_URL": "url", "DB_CONNECTION": "driver"}
_FIELDS.update({"DB_HOST": "host", "DB_PORT": "port", "DB_DATABASE": "name"})
_FIELDS.update({"DB_USERNAME": "user", "DB_PASSWORD": "password", "DB_SOCKET": "socket"})


def parse_dotenv(text: str) -> dict[str, Any]:
    """KEY -> value; a value that would be expanded (`$VAR`, `${VAR}`, `$(cmd)`) is Unparsed."""
    values: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        found = _LINE.match(line)
        if found is None:
            continue
        key, raw = found.groups()
        if raw.startswith("'"):
            end = raw.find("'", 1)
            values[key] = raw[1:end] if end > 0 else Unparsed(number, "'")
        elif raw.startswith('"'):
            end = re.search(r'(?<!\\)"', raw[1:])
            body = raw[1 : end.start() + 1] if end else None
            if body is None or re.search(r"(?<!\\)\$", body):
                values[key] = Unparsed(number, "$" if body else '"')
            else:
                values[key] = re.sub(r"\\(.)", r"\1", body)
        else:
            plain = re.split(r"\s+#", raw, maxsplit=1)[0]
            values[key] = Unparsed(number, "$") if "$" in plain else plain
    return values


def read_database(host: Host, path: str) -> SiteDatabase | None:
    """The project's database; None when no dotenv file names one."""
    dumped = read_php_settings(host, path, [DUMPED_ENV])
    if dumped:
        where, php = next(iter(dumped.items()))
        returned = php.returned()
        return _from_values(where, returned if isinstance(returned, dict) else {})
    paths = [posixpath.join(path, name) for name in DOTENV_FILES]
    files = host.read_many(paths)
    values: dict[str, Any] = {}
    where = ""
    for file_path in paths:
        if file_path in files.problems:
            raise SiteTreeError(f"{file_path}: {files.problems[file_path]}")
        text = files[file_path]
        if text is None:
            continue
        found = parse_dotenv(text)
        if any(key in found for key in _KEYS):
            where = file_path
        for key, value in found.items():
            if isinstance(value, Unparsed) and key in _FIELDS:
                # Named with the file it is in: `.env.local` may override a plain `.env`.
                raise SiteTreeError(f"{file_path}: database {_FIELDS[key]}: {value.describe()}")
            values[key] = value
    return _from_values(where, values) if where else None


def _from_values(where: str, values: dict[str, Any]) -> SiteDatabase | None:
    url = values.get("DATABASE_URL", values.get("DB_URL"))
    if url is not None:
        return _from_url(where, url)
    if "DB_DATABASE" not in values:
        return None
    return from_settings(
        where,
        driver=values.get("DB_CONNECTION", "mysql"),
        host=values.get("DB_HOST"),
        port=values.get("DB_PORT"),
        name=values.get("DB_DATABASE"),
        user=values.get("DB_USERNAME"),
        password=values.get("DB_PASSWORD", ""),
        socket=values.get("DB_SOCKET"),
    )


def _from_url(where: str, url: Any) -> SiteDatabase:
    if isinstance(url, Unparsed):
        raise SiteTreeError(f"{where}: database url: {url.describe()}")
    parts = urlsplit(str(url))
    try:
        port = parts.port
    except ValueError:
        raise SiteTreeError(f"{where}: the database URL has a bad port") from None
    socket = parse_qs(parts.query).get("unix_socket", [None])[0]
    return from_settings(
        where,
        driver=parts.scheme.replace("pdo-", ""),
        host=parts.hostname,
        port=port,
        name=unquote(parts.path.lstrip("/")),
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        socket=socket,
    )
