"""Log-in limits kept in the ledger (`login_failures`): at most `web.login_attempts` failed
log-ins per client address and per account name within `web.login_window_seconds`, then 429
until the window slides past them. Every `tma serve` on the ledger counts the same failures:
several uvicorn workers, servers behind one proxy, a restart (SQLite and PostgreSQL alike).

Keys are stored as HMAC-SHA256 with `web.secret_key`: the table never holds a readable name
or address (people type passwords into the name field). Rows older than the window are
deleted with every failure written, so the table holds one window of failures at most."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from sqlalchemy import delete, func, select

from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import LoginFailure, utcnow

__all__ = ["LoginLimiter"]


class LoginLimiter:
    def __init__(self, ledger: Ledger, secret: str, attempts: int, window_seconds: int) -> None:
        self.ledger = ledger
        self.attempts = attempts
        self.window = timedelta(seconds=window_seconds)
        self._secret = secret.encode()

    def _digests(self, keys: tuple[str, ...]) -> list[str]:
        return [hmac.new(self._secret, k.encode(), hashlib.sha256).hexdigest() for k in keys]

    def blocked(self, *keys: str) -> bool:
        """One indexed count per key: a log-in that is not refused is not slowed."""
        since = utcnow() - self.window
        query = (
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.key.in_(self._digests(keys)), LoginFailure.at > since)
            .group_by(LoginFailure.key)
        )
        with self.ledger.session() as session:
            return any(int(count) >= self.attempts for count in session.scalars(query))

    def failed(self, *keys: str) -> None:
        now = utcnow()
        with self.ledger.session() as session:
            session.execute(delete(LoginFailure).where(LoginFailure.at <= now - self.window))
            session.add_all(LoginFailure(key=digest, at=now) for digest in self._digests(keys))
