"""The V2 contract amount math (spec section 4), checked against hand-computed vectors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from stellarstream.chain.math import (
    linear_overflows,
    refundable,
    streamed_amount,
    unlocked,
    withdrawable,
)

I128_MAX = 2**127 - 1

# No example database: keep the working tree free of a .hypothesis directory.
PROPS = settings(
    max_examples=300, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def contract_overflows(total: int, elapsed: int) -> bool:
    """Independent restatement of the spec's overflow condition."""
    return total * elapsed * 10**16 > I128_MAX


# ---------------------------------------------------------------------------------------------
# Linear curve, hand-checked. Stream: T=1000, start=100, end=200.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (50, 0),  # before start
        (99, 0),  # one second before start
        (100, 0),  # exactly at start: now <= start -> 0
        (101, 10),  # 1000 * 1 / 100
        (150, 500),  # midway: 1000 * 50 / 100
        (199, 990),  # 1000 * 99 / 100
        (200, 1000),  # at end
        (250, 1000),  # after end
    ],
)
def test_linear_without_cliff(now: int, expected: int) -> None:
    assert unlocked(1000, 100, 100, 200, now) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (120, 0),  # after start but before the cliff
        (149, 0),  # one second before the cliff
        (150, 500),  # at the cliff: everything accrued since start, 1000 * 50 / 100
        (175, 750),  # 1000 * 75 / 100
        (200, 1000),
    ],
)
def test_linear_with_cliff(now: int, expected: int) -> None:
    assert unlocked(1000, 100, 150, 200, now) == expected


def test_linear_truncates() -> None:
    # 1000 * 1 / 3 = 333.33 -> 333; 1000 * 2 / 3 = 666.67 -> 666 (floor, never rounds up)
    assert unlocked(1000, 0, 0, 3, 1) == 333
    assert unlocked(1000, 0, 0, 3, 2) == 666
    # 7 * 1 / 10 = 0.7 -> 0
    assert unlocked(7, 0, 0, 10, 1) == 0


def test_streamed_amount_is_unlocked() -> None:
    assert streamed_amount(1000, 100, 150, 200, 149) == 0
    assert streamed_amount(1000, 100, 150, 200, 175) == 750
    assert streamed_amount(1000, 0, 0, 3, 2, curve_type=1) == 444  # see exponential vectors
    assert streamed_amount(1000, 100, 100, 200, 150, cancelled=True) == 1000


def test_withdrawable_and_refundable_live() -> None:
    # T=1000, start=100, end=200, now=150 -> unlocked 500; receiver already took 200.
    assert withdrawable(1000, 200, 100, 100, 200, 150) == 300
    assert refundable(1000, 100, 100, 200, 150) == 500
    # Before the cliff nothing is withdrawable and everything would be refunded.
    assert withdrawable(1000, 0, 100, 150, 200, 120) == 0
    assert refundable(1000, 100, 150, 200, 120) == 1000
    # At the end: everything not yet withdrawn, nothing refundable.
    assert withdrawable(1000, 400, 100, 100, 200, 200) == 600
    assert refundable(1000, 100, 100, 200, 200) == 0


def test_withdrawable_never_negative() -> None:
    # unlocked 500 at now=150 but 600 recorded as withdrawn -> 0, not -100
    assert withdrawable(1000, 600, 100, 100, 200, 150) == 0


def test_cancelled() -> None:
    # The contract's unlocked() reports T for a cancelled stream once past start and cliff...
    assert unlocked(1000, 100, 100, 200, 150, cancelled=True) == 1000
    # ...but the cliff/start check comes first.
    assert unlocked(1000, 100, 150, 200, 120, cancelled=True) == 0
    assert unlocked(1000, 100, 100, 200, 100, cancelled=True) == 0
    # Once cancelled, nothing is withdrawable or refundable, whatever the time.
    for now in (50, 120, 150, 200, 300):
        assert withdrawable(1000, 500, 100, 100, 200, now, cancelled=True) == 0
        assert refundable(1000, 100, 100, 200, now, cancelled=True) == 0
        assert withdrawable(1000, 500, 100, 100, 200, now, curve_type=1, cancelled=True) == 0
        assert refundable(1000, 100, 100, 200, now, curve_type=1, cancelled=True) == 0


def test_top_up() -> None:
    # Stream T=1000, start=0, end=100; at now=50 unlocked 500 and the receiver withdrew it.
    assert unlocked(1000, 0, 0, 100, 50) == 500
    # top_up: extra 500 -> new_total 1500, new_end 150 (taken from the event).
    assert unlocked(1500, 0, 0, 150, 50) == 500  # 1500 * 50 / 150
    assert withdrawable(1500, 500, 0, 0, 150, 50) == 0
    assert withdrawable(1500, 500, 0, 0, 150, 100) == 500  # 1500 * 100 / 150 = 1000, minus 500
    assert refundable(1500, 0, 0, 150, 100) == 500
    assert withdrawable(1500, 500, 0, 0, 150, 150) == 1000
    assert withdrawable(1500, 500, 0, 0, 150, 140) == 900  # 1500 * 140 / 150 = 1400
    # Old end (100) no longer releases everything.
    assert unlocked(1500, 0, 0, 150, 100) == 1000


def test_refill() -> None:
    # Old stream start=0, cliff=20, end=100 fully paid out; refill 2000 with
    # new_start = old end = 100, new_end = 300, withdrawn reset to 0. The old cliff (20) is
    # before the new start so it no longer bites.
    total, start, cliff, end = 2000, 100, 20, 300
    assert unlocked(total, start, cliff, end, 100) == 0  # at new start
    assert withdrawable(total, 0, start, cliff, end, 150) == 500  # 2000 * 50 / 200
    assert refundable(total, start, cliff, end, 150) == 1500
    assert withdrawable(total, 0, start, cliff, end, 299) == 1990  # 2000 * 199 / 200
    assert withdrawable(total, 0, start, cliff, end, 300) == 2000


def test_degenerate_start_equals_end() -> None:
    assert unlocked(1000, 100, 100, 100, 99) == 0
    assert unlocked(1000, 100, 100, 100, 100) == 0  # now <= start wins
    assert unlocked(1000, 100, 100, 100, 101) == 1000
    assert unlocked(1000, 100, 100, 100, 101, curve_type=1) == 1000
    assert refundable(1000, 100, 100, 100, 101) == 0


def test_unknown_curve_rejected() -> None:
    with pytest.raises(ValueError, match="curve_type"):
        unlocked(1000, 0, 0, 100, 50, curve_type=2)


# ---------------------------------------------------------------------------------------------
# Exponential curve (curve_type 1), hand-checked.
#   r  = (now-start)*10**16 // ((end-start)*10**9)
#   r2 = r*r // 10**7
#   out = T*r2 // 10**7
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "start", "cliff", "end", "now", "expected"),
    [
        # T=10**6, 0..100, now=50: r = 5*10**17 // 10**11 = 5_000_000;
        # r2 = 25*10**12 // 10**7 = 2_500_000; out = 10**6 * 2_500_000 // 10**7 = 250_000
        (10**6, 0, 0, 100, 50, 250_000),
        # now=25: r = 2_500_000; r2 = 6.25*10**12 // 10**7 = 625_000; out = 62_500
        (10**6, 0, 0, 100, 25, 62_500),
        # now=75: r = 7_500_000; r2 = 56.25*10**12 // 10**7 = 5_625_000; out = 562_500
        (10**6, 0, 0, 100, 75, 562_500),
        # T=10**9, 0..3, now=1: r = 10**16 // (3*10**9) = 3_333_333;
        # r*r = 11_111_108_888_889 -> r2 = 1_111_110; out = 10**9 * 1_111_110 // 10**7
        # = 111_111_000 (the ideal T/9 would be 111_111_111: truncation of r and r2 loses it)
        (10**9, 0, 0, 3, 1, 111_111_000),
        # now=2: r = 2*10**16 // (3*10**9) = 6_666_666; r*r = 44_444_435_555_556
        # -> r2 = 4_444_443; out = 10**9 * 4_444_443 // 10**7 = 444_444_300 (ideal 444_444_444)
        (10**9, 0, 0, 3, 2, 444_444_300),
        # T=1000, now=2 of 3: r2 = 4_444_443 as above; 1000 * 4_444_443 // 10**7 = 444
        (1000, 0, 0, 3, 2, 444),
        # shifted start: 1000..1100, now=1050 is the same as 50 of 100
        (10**6, 1000, 1000, 1100, 1050, 250_000),
        # before the cliff (cliff=60): 0, even though the curve would give 250_000
        (10**6, 0, 60, 100, 50, 0),
        # at start, at end, after end
        (10**6, 0, 0, 100, 0, 0),
        (10**6, 0, 0, 100, 100, 10**6),
        (10**6, 0, 0, 100, 1000, 10**6),
        # amount above 2**63: T=2**100 at half way, r2 = 2_500_000 exactly -> T // 4 = 2**98
        (2**100, 0, 0, 100, 50, 2**98),
    ],
)
def test_exponential_vectors(
    total: int, start: int, cliff: int, end: int, now: int, expected: int
) -> None:
    assert unlocked(total, start, cliff, end, now, curve_type=1) == expected


def test_exponential_withdrawable_refundable() -> None:
    # unlocked 250_000 at half way (see above)
    assert withdrawable(10**6, 50_000, 0, 0, 100, 50, curve_type=1) == 200_000
    assert refundable(10**6, 0, 0, 100, 50, curve_type=1) == 750_000
    # the linear curve would have unlocked 500_000 at the same point
    assert withdrawable(10**6, 50_000, 0, 0, 100, 50) == 450_000


# ---------------------------------------------------------------------------------------------
# Overflow fallback of the linear curve: amounts above 2**63.
# ---------------------------------------------------------------------------------------------

# Largest T for which T * 1 * 10**16 still fits in i128 (elapsed = 1 s):
# (2**127 - 1) // 10**16 = 170141183460469231731687303715884105727 // 10**16
#                        = 17014118346046923173168
T_EDGE = 17_014_118_346_046_923_173_168


def test_overflow_large_total_half_way() -> None:
    # T = 2**100 = 1267650600228229401496703205376, 0..100, now=50.
    # T*50*10**16 ~ 6.3e47 > 2**127 - 1 ~ 1.7e38 -> fallback.
    # T // (100*10**9) = 1267650600228229401496703205376 // 10**11 = 12676506002282294014
    # * (50*10**9) = 633825300114114700700000000000
    # The ideal 2**99 = 633825300114114700748351602688 is larger by 48351602688.
    total = 2**100
    assert linear_overflows(total, 0, 50)
    assert unlocked(total, 0, 0, 100, 50) == 633_825_300_114_114_700_700_000_000_000
    assert unlocked(total, 0, 0, 100, 50) < 2**99
    assert withdrawable(total, 0, 0, 0, 100, 50) == 633_825_300_114_114_700_700_000_000_000
    # refundable = T - unlocked = 1267650600228229401496703205376 - 633825300114114700700000000000
    assert refundable(total, 0, 0, 100, 50) == 633_825_300_114_114_700_796_703_205_376


def test_overflow_fallback_can_equal_ideal() -> None:
    # T = 10**30 is a multiple of duration_ns = 10**11: (10**30 // 10**11) * 50*10**9
    # = 10**19 * 5*10**10 = 5*10**29, same as the ideal 10**30 * 50 / 100.
    assert linear_overflows(10**30, 0, 50)
    assert unlocked(10**30, 0, 0, 100, 50) == 5 * 10**29


def test_overflow_boundary() -> None:
    # T_EDGE * 1 * 10**16 <= 2**127 - 1: exact path, floor(T_EDGE / 3)
    # 17014118346046923173168 / 3 = 5671372782015641057722.67 -> 5671372782015641057722
    assert not linear_overflows(T_EDGE, 0, 1)
    assert unlocked(T_EDGE, 0, 0, 3, 1) == 5_671_372_782_015_641_057_722
    # T_EDGE + 1 overflows: (17014118346046923173169 // 3_000_000_000) * 1_000_000_000
    # = 5671372782015 * 10**9 = 5671372782015000000000 (641057722 below the ideal)
    assert linear_overflows(T_EDGE + 1, 0, 1)
    assert unlocked(T_EDGE + 1, 0, 0, 3, 1) == 5_671_372_782_015_000_000_000


def test_overflow_makes_contract_math_non_monotonic() -> None:
    # The contract's fallback is not monotonic in time: T = 34*10**13 over 10**8 s.
    # Overflow starts once elapsed > (2**127 - 1) // (T * 10**16) = 50041524.
    # At 50041524 s the exact path gives floor(T * 50041524 / 10**8) = 170141181600000;
    # one second later T // 10**17 = 0, so the fallback gives 0 until the end.
    total, end = 34 * 10**13, 10**8
    assert unlocked(total, 0, 0, end, 50_041_524) == 170_141_181_600_000
    assert unlocked(total, 0, 0, end, 50_041_525) == 0
    assert unlocked(total, 0, 0, end, end - 1) == 0
    assert unlocked(total, 0, 0, end, end) == total


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------

totals = st.one_of(
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=2**63, max_value=2**127 - 1),
    st.integers(min_value=0, max_value=2**127 - 1),
)
starts = st.integers(min_value=0, max_value=2**33)
durations = st.one_of(
    st.integers(min_value=1, max_value=1000), st.integers(min_value=1, max_value=2**32)
)
curves = st.sampled_from([0, 1])


@st.composite
def streams(draw: st.DrawFn) -> tuple[int, int, int, int]:
    """(total, start, cliff, end) as the contract allows: start < end, start <= cliff <= end."""
    total = draw(totals)
    start = draw(starts)
    end = start + draw(durations)
    cliff = draw(st.integers(min_value=start, max_value=end))
    return total, start, cliff, end


@st.composite
def stream_and_now(draw: st.DrawFn) -> tuple[int, int, int, int, int]:
    total, start, cliff, end = draw(streams())
    now = draw(st.integers(min_value=max(0, start - 10), max_value=end + 10))
    return total, start, cliff, end, now


@PROPS
@given(stream_and_now(), curves, st.booleans())
def test_prop_bounds_and_type(
    s: tuple[int, int, int, int, int], curve: int, cancelled: bool
) -> None:
    total, start, cliff, end, now = s
    got = unlocked(total, start, cliff, end, now, curve_type=curve, cancelled=cancelled)
    assert type(got) is int
    assert 0 <= got <= total
    assert type(streamed_amount(total, start, cliff, end, now, curve_type=curve)) is int


@PROPS
@given(stream_and_now(), curves)
def test_prop_zero_before_cliff_total_after_end(
    s: tuple[int, int, int, int, int], curve: int
) -> None:
    total, start, cliff, end, now = s
    got = unlocked(total, start, cliff, end, now, curve_type=curve)
    if now < cliff or now <= start:
        assert got == 0
    elif now >= end:
        assert got == total


@PROPS
@given(stream_and_now())
def test_prop_linear_matches_ideal_without_overflow(s: tuple[int, int, int, int, int]) -> None:
    total, start, cliff, end, now = s
    assume(max(start, cliff) <= now < end and now > start)
    got = unlocked(total, start, cliff, end, now)
    ideal = total * (now - start) // (end - start)
    if contract_overflows(total, now - start):
        # the spec's fallback, restated independently; never above the ideal
        assert got == (total // ((end - start) * 10**9)) * ((now - start) * 10**9)
        assert got <= ideal
    else:
        assert got == ideal


@PROPS
@given(
    st.integers(min_value=0, max_value=10**19),
    starts,
    st.integers(min_value=2, max_value=1000),
    st.data(),
)
def test_prop_linear_ideal_for_realistic_amounts(
    total: int, start: int, duration: int, data: st.DataObject
) -> None:
    # T <= 10**19 (above 2**63) over at most 1000 s: T * elapsed * 10**16 <= 10**19 * 999 * 10**16
    # < 2**127 - 1, so the exact path is always taken and the ideal floor holds.
    end = start + duration
    now = data.draw(st.integers(min_value=start + 1, max_value=end - 1))
    assert not contract_overflows(total, now - start)
    assert unlocked(total, start, start, end, now) == total * (now - start) // duration


@PROPS
@given(stream_and_now(), curves, st.integers(min_value=0, max_value=10**6))
def test_prop_monotonic_in_now(s: tuple[int, int, int, int, int], curve: int, step: int) -> None:
    total, start, cliff, end, now = s
    later = now + step
    # The linear fallback can drop below the exact value at the overflow boundary (see
    # test_overflow_makes_contract_math_non_monotonic), so compare within one regime.
    if curve == 0 and start < now < end and start < later < end:
        assume(contract_overflows(total, now - start) == contract_overflows(total, later - start))
    a = unlocked(total, start, cliff, end, now, curve_type=curve)
    b = unlocked(total, start, cliff, end, later, curve_type=curve)
    assert a <= b


@PROPS
@given(stream_and_now(), curves, st.data())
def test_prop_conservation_live(
    s: tuple[int, int, int, int, int], curve: int, data: st.DataObject
) -> None:
    total, start, cliff, end, now = s
    u = unlocked(total, start, cliff, end, now, curve_type=curve)
    withdrawn = data.draw(st.integers(min_value=0, max_value=u))
    w = withdrawable(total, withdrawn, start, cliff, end, now, curve_type=curve)
    r = refundable(total, start, cliff, end, now, curve_type=curve)
    assert w == u - withdrawn
    assert r == total - u
    assert w + withdrawn + r == total
    assert w >= 0
    assert r >= 0


@PROPS
@given(stream_and_now(), curves, st.integers(min_value=0, max_value=2**127 - 1))
def test_prop_cancelled_pays_nothing_more(
    s: tuple[int, int, int, int, int], curve: int, withdrawn: int
) -> None:
    total, start, cliff, end, now = s
    assert (
        withdrawable(total, withdrawn, start, cliff, end, now, curve_type=curve, cancelled=True)
        == 0
    )
    assert refundable(total, start, cliff, end, now, curve_type=curve, cancelled=True) == 0


@PROPS
@given(stream_and_now())
def test_prop_exponential_matches_spec_and_never_exceeds_linear(
    s: tuple[int, int, int, int, int],
) -> None:
    total, start, cliff, end, now = s
    assume(max(start, cliff) <= now < end and now > start)
    r = (now - start) * 10**16 // ((end - start) * 10**9)
    r2 = r * r // 10**7
    got = unlocked(total, start, cliff, end, now, curve_type=1)
    assert got == total * r2 // 10**7
    # (x/d)^2 <= x/d, so the back-loaded curve never leads the ideal linear one
    assert got <= total * (now - start) // (end - start)
