"""Log-in limits kept in the ledger (`login_failures`): at most `web.login_attempts` failed
log-ins per client address and per account name within `web.login_window_seconds`, then 429
until the window slides past them. Every `tma serve` on the ledger counts the same failures:
several uvicorn workers, servers behind one proxy, a restart (SQLite and PostgreSQL alike).

Keys are stored as HMAC-SHA256 with `web.secret_key`: the table never holds a readable name
or address (people type passwords into the name field). Rows older than the window are
deleted with every failure written, so the table holds one window of failures at most.

`Spacing` keeps an action (the dashboard's "sync now") to one per so many seconds for each
scope, for every `tma serve` on the ledger alike (`throttles`): the ticket system is read
once per spacing however many workers or servers the buttons are pressed on."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from tma_agent.ledger.database import Ledger
from tma_agent.ledger.models import LoginFailure, Throttle, utcnow

__all__ = ["LoginLimiter", "Spacing"]


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


class Spacing:
    def __init__(self, ledger: Ledger, seconds: int) -> None:
        self.ledger = ledger
        self.seconds = timedelta(seconds=seconds)

    def wait_for(self, scope: str) -> int:
        """0 and the turn taken, or the whole seconds left before the next one.

        The turn is taken by one conditional UPDATE (or the first INSERT of the scope): of
        two servers asking at once, the database lets exactly one change the row."""
        now = utcnow()
        with self.ledger.session() as session:
            taken = session.execute(
                update(Throttle)
                .where(Throttle.scope == scope, Throttle.last_at <= now - self.seconds)
                .values(last_at=now)
            )
            if taken.rowcount:  # type: ignore[attr-defined]
                return 0
            last = session.scalar(select(Throttle.last_at).where(Throttle.scope == scope))
        if last is None:
            try:
                with self.ledger.session() as session:
                    session.add(Throttle(scope=scope, last_at=now))
                return 0
            except IntegrityError:  # another server took the first turn just now
                last = now
        left = (last + self.seconds - now).total_seconds()
        return max(1, int(left + 0.999))
