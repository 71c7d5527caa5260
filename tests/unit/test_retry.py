"""The one retry policy: backoff formula, jitter bounds and determinism, Retry-After parsing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from stellarstream.retry import Backoff, Jitter, retry_after

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


# --- Retry-After ---


def test_retry_after_delta_seconds() -> None:
    assert retry_after("7", NOW) == 7.0
    assert retry_after(" 1.5 ", NOW) == 1.5
    assert retry_after("0", NOW) == 0.0
    assert retry_after("-3", NOW) == 0.0


def test_retry_after_http_date() -> None:
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert later.endswith("GMT")
    assert retry_after(later, NOW) == 90.0
    # the obsolete RFC 850 and asctime forms (RFC 9110 section 5.6.7) are read too
    assert retry_after("Friday, 02-Jan-26 03:05:05 GMT", NOW) == 60.0
    assert retry_after("Fri Jan  2 03:04:35 2026", NOW) == 30.0


def test_retry_after_past_http_date_is_zero() -> None:
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", NOW) == 0.0
    past = format_datetime(NOW - timedelta(seconds=1), usegmt=True)
    assert retry_after(past, NOW) == 0.0


@pytest.mark.parametrize("header", [None, "", "   ", "soon", "1 minute", "nan", "inf", "Mon, 99"])
def test_retry_after_garbage_is_none(header: str | None) -> None:
    assert retry_after(header, NOW) is None


def test_retry_after_cap() -> None:
    assert retry_after("3600", NOW, cap=30.0) == 30.0
    assert retry_after("12", NOW, cap=30.0) == 12.0
    later = format_datetime(NOW + timedelta(hours=2), usegmt=True)
    assert retry_after(later, NOW, cap=5.0) == 5.0


def test_retry_after_defaults_to_the_current_time() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    seconds = retry_after(later)
    assert seconds is not None and 28.0 <= seconds <= 30.0


# --- the formula ---


def test_ceiling_doubles_from_base_up_to_the_cap() -> None:
    policy = Backoff(base=0.5, cap=3.0)
    assert [policy.ceiling(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.ceiling(0) == 0.5  # before any failure: the base
    assert Backoff(base=1.0, factor=3.0).ceiling(3) == 9.0
    assert Backoff(base=1.0).ceiling(10_000) == 2.0**60  # the exponent is held, no overflow


def test_max_exponent_holds_the_growth() -> None:
    policy = Backoff(base=1.0, cap=100.0, max_exponent=5)
    assert [policy.ceiling(n) for n in (6, 7, 50)] == [32.0, 32.0, 32.0]


def test_no_jitter_is_the_formula() -> None:
    policy = Backoff(base=2.0, cap=10.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 10.0]


@pytest.mark.parametrize(
    ("jitter", "low", "high"),
    [("full", 0.0, 1.0), ("equal", 0.5, 1.0), ("spread", 0.9, 1.1)],
)
def test_jitter_bounds(jitter: Jitter, low: float, high: float) -> None:
    policy = Backoff(base=1.0, cap=64.0, jitter=jitter)
    rng = random.Random(1)
    for attempt in range(1, 10):
        ceiling = policy.ceiling(attempt)
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(low * ceiling <= d <= high * ceiling for d in delays)
        assert max(delays) - min(delays) > (high - low) * ceiling / 2  # it does vary


def test_spread_width_is_a_parameter() -> None:
    policy = Backoff(base=10.0, jitter="spread", spread=0.5)
    rng = random.Random(3)
    assert all(5.0 <= policy.delay(1, rng) <= 15.0 for _ in range(100))


def test_seeded_random_is_deterministic() -> None:
    policy = Backoff(base=0.5, cap=30.0, jitter="full")
    first = [policy.delay(n, random.Random(42)) for n in range(1, 8)]
    again = [policy.delay(n, random.Random(42)) for n in range(1, 8)]
    assert first == again
    expected = [random.Random(42).uniform(0.0, policy.ceiling(n)) for n in range(1, 8)]
    assert first == expected


def test_wait_prefers_retry_after_capped() -> None:
    policy = Backoff(base=0.5, cap=30.0, jitter="full")
    assert policy.wait(1, 7.0) == 7.0
    assert policy.wait(1, 0.0) == 0.0
    assert policy.wait(3, 3600.0) == 30.0
    assert Backoff(base=1.0).wait(1, 3600.0) == 3600.0  # no cap: as the server said
    rng = random.Random(5)
    assert policy.wait(2, None, rng) == random.Random(5).uniform(0.0, 1.0)


def test_exhausted_after_the_retries() -> None:
    policy = Backoff(base=1.0, retries=2)
    assert [policy.exhausted(n) for n in (1, 2, 3)] == [False, False, True]
    assert not Backoff(base=1.0).exhausted(10**6)  # no limit
    assert Backoff(base=1.0, retries=0).exhausted(1)
