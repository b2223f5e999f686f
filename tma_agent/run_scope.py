"""What lives exactly one run: `RunScope.memo` computes a value once per run, whichever site asks.

A plugin that parses a large feed, loads an index file or keeps answers for every site of the
run memoizes it with `site.run.memo(key, compute)` instead of a module-level cache. Keys are
any hashable; start them with the plugin's or source's name (`("wordfence", url)`) so two
plugins never share one by accident.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["RunScope"]

_T = TypeVar("_T")


class _Failure:
    """A memoized exception, kept apart from values so a computed exception object stays a
    value."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class RunScope:
    """Created once per `CheckRun` and shared by every site of it (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gates: dict[Hashable, threading.Lock] = {}
        self._values: dict[Hashable, Any] = {}
        #: How many times each key was computed: 1 per run when the memo does its job.
        self.computed: Counter[Hashable] = Counter()

    def memo(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """`compute()` the first time `key` is asked in this run, its result every later time.

        Single flight: concurrent callers of one key wait for the first. A failure is kept
        too, like the Fetcher's: `compute` is not called again, and each caller gets a fresh
        copy of the exception (threads re-raising one object would share and keep growing
        its traceback). `compute` may memoize other keys, never its own (it would wait on
        itself)."""
        with self._lock:
            gate = self._gates.setdefault(key, threading.Lock())
        with gate:
            if key not in self._values:
                self.computed[key] += 1
                try:
                    self._values[key] = compute()
                except Exception as exc:
                    self._values[key] = _Failure(exc)
            value = self._values[key]
        if isinstance(value, _Failure):
            raise _fresh(value.error) from value.error.__cause__
        result: _T = value
        return result


def _fresh(error: Exception) -> Exception:
    # Built without calling __init__, which may take other arguments than `args` holds
    # (FeedError(url, reason) keeps one message in args).
    kind = type(error)
    try:
        fresh = kind.__new__(kind, *error.args)
        fresh.args = error.args
        fresh.__dict__.update(error.__dict__)
    except Exception:
        # One that cannot be rebuilt is shared, its traceback reset so it cannot keep growing.
        return error.with_traceback(None)
    return fresh
