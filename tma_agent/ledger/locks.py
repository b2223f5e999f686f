"""Locks that hold across processes and machines sharing one ledger.

On SQLite a lock is a lease row (`leases`): its holder renews it from a heartbeat thread, and it
is taken over once expired, or at once when its holder was a process of this machine that no
longer exists (a SIGKILLed run leaves its row behind). On PostgreSQL it is a session advisory
lock: the server drops it the moment the holder's connection goes, however the holder died.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from tma_agent.errors import TmaError
from tma_agent.ledger.database import Ledger, database_error
from tma_agent.ledger.models import Lease, utcnow

__all__ = ["LEASE_SECONDS", "LockHeld", "hold_lock", "holder_id"]

#: A lease not renewed for this long is free (the heartbeat renews it every third of it).
LEASE_SECONDS = 120


class LockHeld(TmaError):
    """Another run or apply holds the lock (exit 5); the message says who."""

    exit_code = 5


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def hold_lock(ledger: Ledger, name: str, *, seconds: int = LEASE_SECONDS) -> Iterator[None]:
    """Hold the lock `name` (`run`, `site:<id>`) for the block; `LockHeld` when taken."""
    if ledger.engine.dialect.name == "postgresql":
        with _advisory_lock(ledger, name):
            yield
        return
    me = holder_id()
    _take_lease(ledger, name, me, seconds)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(ledger, name, me, seconds, stop), daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        with ledger.session() as session:
            session.execute(delete(Lease).where(Lease.name == name, Lease.holder == me))


def _take_lease(ledger: Ledger, name: str, me: str, seconds: int) -> None:
    now = utcnow()
    with ledger.session() as session:
        lease = session.get(Lease, name)
        if lease is not None and lease.holder != me:
            if lease.expires_at > now and _alive(lease.holder):
                since = lease.heartbeat_at.isoformat(timespec="seconds")
                raise LockHeld(f"{name} is held by {lease.holder} (alive, last seen {since})")
            session.delete(lease)
            session.flush()
        expires = now + timedelta(seconds=seconds)
        if lease is not None and lease.holder == me:
            lease.expires_at, lease.heartbeat_at = expires, now
        else:
            session.add(Lease(name=name, holder=me, expires_at=expires, heartbeat_at=now))


def _heartbeat(ledger: Ledger, name: str, me: str, seconds: int, stop: threading.Event) -> None:
    while not stop.wait(seconds / 3):
        now = utcnow()
        try:
            with ledger.session() as session:
                session.execute(
                    update(Lease)
                    .where(Lease.name == name, Lease.holder == me)
                    .values(expires_at=now + timedelta(seconds=seconds), heartbeat_at=now)
                )
        except DBAPIError:
            continue  # a busy database: the next beat tries again, well before expiry


def _alive(holder: str) -> bool:
    """False only when the holder certainly died: a process of this machine that is gone."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _key(name: str) -> int:
    digest = hashlib.sha256(f"tma-agent:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _advisory_lock(ledger: Ledger, name: str) -> Iterator[None]:
    try:
        connection = ledger.engine.connect()
    except DBAPIError as exc:
        raise database_error(ledger.engine, exc) from None
    with connection:
        key = _key(name)
        got = connection.execute(select(func.pg_try_advisory_lock(key))).scalar()
        connection.commit()
        if not got:
            raise LockHeld(f"{name} is held by another tma process using this database")
        try:
            yield
        finally:
            connection.execute(select(func.pg_advisory_unlock(key)))
            connection.commit()
