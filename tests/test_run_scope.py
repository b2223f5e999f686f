"""The run scope: one memo per run, single flight, failures kept, a fresh error per caller."""

from __future__ import annotations

import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

import pytest

from tma_agent.errors import FeedError
from tma_agent.run_scope import RunScope


def test_computed_once_then_remembered() -> None:
    scope = RunScope()
    calls: list[str] = []

    def compute() -> list[str]:
        calls.append("x")
        return ["parsed"]

    first = scope.memo(("feed", "https://a"), compute)
    assert scope.memo(("feed", "https://a"), compute) is first
    assert calls == ["x"]
    # Another key, another value; a falsy or None value is remembered like any other.
    assert scope.memo(("feed", "https://b"), lambda: None) is None
    assert scope.memo(("feed", "https://b"), lambda: ["never"]) is None
    assert scope.computed == {("feed", "https://a"): 1, ("feed", "https://b"): 1}


def test_each_scope_is_its_own_run() -> None:
    one, two = RunScope(), RunScope()
    assert one.memo("k", lambda: 1) == 1
    assert two.memo("k", lambda: 2) == 2
    assert one.memo("k", lambda: 3) == 1


def test_concurrent_callers_wait_for_the_first() -> None:
    scope = RunScope()
    started = threading.Event()
    calls = 0

    def slow() -> object:
        nonlocal calls
        calls += 1
        started.set()
        time.sleep(0.2)
        return object()

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: scope.memo("index", slow), range(32)))
    assert calls == 1 and started.is_set()
    assert all(r is results[0] for r in results)


def test_other_keys_are_not_held_up_by_a_slow_one() -> None:
    scope = RunScope()
    release = threading.Event()

    def blocked() -> str:
        release.wait(5)
        return "slow"

    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(scope.memo, "slow", blocked)
        fast = pool.submit(scope.memo, "fast", lambda: "fast")
        assert fast.result(timeout=2) == "fast"
        assert not slow.done()
        release.set()
        assert slow.result(timeout=5) == "slow"


class BrokenFeed:
    """A compute that fails as a bad feed does, counting its calls."""

    def __init__(self, url: str, reason: str, *, delay: float = 0.0) -> None:
        self.url, self.reason, self.delay = url, reason, delay
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        time.sleep(self.delay)
        raise FeedError(self.url, self.reason)


def raised_by(scope: RunScope, key: str, compute: BrokenFeed) -> FeedError:
    with pytest.raises(FeedError) as caught:
        scope.memo(key, compute)
    return caught.value


def test_a_failure_is_kept_and_each_caller_gets_a_fresh_error() -> None:
    scope = RunScope()
    broken = BrokenFeed("https://feeds.example/index.json", "not JSON")
    raised = [raised_by(scope, "index", broken) for _ in range(3)]
    assert broken.calls == 1 and scope.computed["index"] == 1
    assert len({id(e) for e in raised}) == 3
    for error in raised:
        assert (error.url, error.reason) == ("https://feeds.example/index.json", "not JSON")
        assert str(error) == "https://feeds.example/index.json: not JSON"
    # Re-raising one shared object would add the frames of every raise to its traceback.
    depths = {len(traceback.extract_tb(e.__traceback__)) for e in raised}
    assert len(depths) == 1, depths


def test_concurrent_failures_are_fresh_per_thread() -> None:
    scope = RunScope()
    broken = BrokenFeed("https://feeds.example/x", "HTTP 500", delay=0.1)
    with ThreadPoolExecutor(max_workers=8) as pool:
        errors = list(pool.map(lambda _: raised_by(scope, "x", broken), range(16)))
    assert broken.calls == 1
    assert len({id(e) for e in errors}) == 16
    assert {str(e) for e in errors} == {"https://feeds.example/x: HTTP 500"}


def test_any_exception_is_kept_with_its_type_and_cause() -> None:
    scope = RunScope()

    def broken() -> str:
        try:
            {}["missing"]
        except KeyError as exc:
            raise ValueError("bad index") from exc
        return "unreachable"

    with pytest.raises(ValueError, match="bad index") as first:
        scope.memo("v", broken)
    with pytest.raises(ValueError, match="bad index") as second:
        scope.memo("v", lambda: "not called")
    assert first.value is not second.value
    assert isinstance(second.value.__cause__, KeyError)
