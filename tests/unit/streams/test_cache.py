"""VersionedCache: per version, at most max age, single-flight, 0 disables."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from stellarstream.streams.cache import VersionedCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_same_version_within_max_age_is_served_from_the_cache() -> None:
    clock = Clock()
    cache: VersionedCache[float] = VersionedCache(5, clock)
    assert cache.get("v1", lambda now: now) == 1000.0
    clock.now = 1002.0
    assert cache.get("v1", lambda now: now) == 1000.0  # 2 s old: fresh
    clock.now = 1003.0
    assert cache.get("v1", lambda now: now) == 1003.0  # past half its age: refreshed ahead
    clock.now = 1008.5
    assert cache.get("v1", lambda now: now) == 1008.5  # too old: computed at the new time
    assert cache.get("v2", lambda now: -1.0) == -1.0  # another version: computed


def test_a_clock_that_went_back_does_not_serve_the_entry() -> None:
    clock = Clock()
    cache: VersionedCache[float] = VersionedCache(5, clock)
    cache.get("v", lambda now: now)
    clock.now = 990.0
    assert cache.get("v", lambda now: now) == 990.0


def test_zero_max_age_always_computes() -> None:
    clock = Clock()
    cache: VersionedCache[int] = VersionedCache(0, clock)
    calls = iter(range(10))
    assert [cache.get("v", lambda _now: next(calls)) for _ in range(3)] == [0, 1, 2]


def test_concurrent_misses_compute_once() -> None:
    cache: VersionedCache[int] = VersionedCache(60, Clock())
    computed: list[int] = []
    started = threading.Event()

    def slow(_now: float) -> int:
        started.set()
        time.sleep(0.2)
        computed.append(1)
        return len(computed)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: cache.get("v", slow), range(8)))
    assert started.is_set() and computed == [1] and results == [1] * 8


def test_refresh_ahead_does_not_make_other_requests_wait() -> None:
    clock = Clock()
    cache: VersionedCache[str] = VersionedCache(10, clock)
    cache.get("v", lambda _now: "old")
    clock.now += 6  # past half of 10 s: the next request refreshes
    computing, release = threading.Event(), threading.Event()

    def slow(_now: float) -> str:
        computing.set()
        assert release.wait(5)
        return "new"

    with ThreadPoolExecutor(1) as pool:
        refresher = pool.submit(cache.get, "v", slow)
        assert computing.wait(5)
        # Meanwhile another request is served the still-fresh value at once.
        assert cache.get("v", lambda _now: "must not compute") == "old"
        release.set()
        assert refresher.result() == "new"
    assert cache.get("v", lambda _now: "must not compute") == "new"


def test_a_new_version_waits_for_the_computation_in_progress() -> None:
    clock = Clock()
    cache: VersionedCache[str] = VersionedCache(10, clock)
    computing, release = threading.Event(), threading.Event()

    def slow(_now: float) -> str:
        computing.set()
        assert release.wait(5)
        return "v2 figures"

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(cache.get, "v2", slow)
        assert computing.wait(5)
        second = pool.submit(cache.get, "v2", lambda _now: "computed twice")
        time.sleep(0.1)
        assert not second.done()  # waiting: the value of another version is not served
        release.set()
        assert first.result() == second.result() == "v2 figures"


def test_peek_serves_only_what_get_would_serve_without_computing() -> None:
    clock = Clock()
    cache: VersionedCache[str] = VersionedCache(4, clock)
    assert cache.peek("v1") is None  # nothing yet
    cache.get("v1", lambda _now: "a")
    assert cache.peek("v1") == "a"
    assert cache.peek("v2") is None  # another version
    clock.now += 2.0
    assert cache.peek("v1") is None  # half its age: get would refresh it
    assert VersionedCache(0, clock).peek("v1") is None  # disabled


def test_without_single_flight_a_stale_value_is_computed_by_each_caller_without_waiting() -> None:
    clock = Clock()
    cache: VersionedCache[int] = VersionedCache(5, clock, single_flight=False)
    calls: list[int] = []

    def compute(_now: float) -> int:
        calls.append(1)
        # The lock of single-flight callers is never taken: a nested get does not block.
        return len(calls) if len(calls) > 1 else cache.get("v1", compute) * 10

    assert cache.get("v1", compute) == 20
    assert cache.get("v1", compute) == 20  # fresh: served
    assert len(calls) == 2
    clock.now += 3.0  # past half its max age
    assert cache.get("v1", compute) == 3
