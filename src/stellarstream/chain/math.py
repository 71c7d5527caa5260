"""The V2 contract's amount math, reproduced bit for bit (spec section 4).

Everything is integer arithmetic on Python ``int`` (amounts are i128 and may exceed 2**63);
no float is ever involved. Times are u64 Unix seconds. Integer division follows Rust's
semantics (truncation toward zero), which equals floor division for the non-negative
values the contract actually holds.

Linear curve (``curve_type`` 0, ``step_duration`` 0). The contract converts times to
nanoseconds and calls ``calculate_flow(T, duration_ns, elapsed_ns)``, i.e.
``FixedPoint::mul_div(T, elapsed_ns, duration_ns)`` with ``SCALE = 10**7``::

    scaled = T * elapsed_ns * SCALE        # checked i128 multiplications
    result = scaled / duration_ns / SCALE

where ``elapsed_ns = (now - start) * 10**9`` and ``duration_ns = (end - start) * 10**9``.
Nested truncating divisions of non-negative integers compose
(``(x // a) // b == x // (a * b)``) and the ``10**9`` factors cancel, so whenever
``scaled = T * (now - start) * 10**16`` fits in i128 the result is exactly the ideal
``floor(T * (now - start) / (end - start))``. When it does not fit, the contract falls back
to ``(T / duration_ns) * elapsed_ns``, which can be smaller than the ideal value: we return
that, not the idealised amount, because the chain pays out what the contract computes.

Exponential curve (``curve_type`` 1), literally as the spec states::

    r  = (now - start) * 10**16 / ((end - start) * 10**9)
    r2 = r * r / 10**7
    unlocked = T * r2 / 10**7

(``T * r2`` is computed exactly here; on chain it would overflow i128 only for
``T`` above about 1.7e31.)
"""

from __future__ import annotations

__all__ = [
    "CURVE_EXPONENTIAL",
    "CURVE_LINEAR",
    "I128_MAX",
    "I128_MIN",
    "NANOS_PER_SEC",
    "SCALE",
    "linear_overflows",
    "refundable",
    "streamed_amount",
    "unlocked",
    "withdrawable",
]

I128_MAX = 2**127 - 1
I128_MIN = -(2**127)
SCALE = 10**7
NANOS_PER_SEC = 10**9

CURVE_LINEAR = 0
CURVE_EXPONENTIAL = 1


def _tdiv(a: int, b: int) -> int:
    """Rust integer division: truncate toward zero (``b`` must be non-zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _fits_i128(value: int) -> bool:
    return I128_MIN <= value <= I128_MAX


def linear_overflows(total: int, start: int, now: int) -> bool:
    """True when the contract's linear path overflows i128 and takes the fallback.

    That is when ``total * (now - start) * 10**16`` (``T * elapsed_ns * SCALE``) lies
    outside i128.
    """
    elapsed_ns = (now - start) * NANOS_PER_SEC
    first = total * elapsed_ns
    return not (_fits_i128(first) and _fits_i128(first * SCALE))


def _linear(total: int, start: int, end: int, now: int) -> int:
    elapsed_ns = (now - start) * NANOS_PER_SEC
    duration_ns = (end - start) * NANOS_PER_SEC
    if linear_overflows(total, start, now):
        return _tdiv(total, duration_ns) * elapsed_ns
    return _tdiv(_tdiv(total * elapsed_ns * SCALE, duration_ns), SCALE)


def _exponential(total: int, start: int, end: int, now: int) -> int:
    r = _tdiv((now - start) * 10**16, (end - start) * NANOS_PER_SEC)
    r2 = _tdiv(r * r, SCALE)
    return _tdiv(total * r2, SCALE)


def unlocked(
    total: int,
    start: int,
    cliff: int,
    end: int,
    now: int,
    *,
    curve_type: int = CURVE_LINEAR,
    cancelled: bool = False,
) -> int:
    """Amount the contract's ``calculate_unlocked_internal`` reports at ``now``.

    0 if ``now < cliff`` or ``now <= start``; else ``total`` if ``now >= end``; else
    ``total`` if cancelled; else the linear or exponential curve (see the module docstring).
    A degenerate ``start == end`` stream is 0 up to ``start`` and ``total`` after it.

    Raises:
        ValueError: for a ``curve_type`` other than 0 (linear) or 1 (exponential).
    """
    if curve_type not in (CURVE_LINEAR, CURVE_EXPONENTIAL):
        raise ValueError(f"unsupported curve_type {curve_type}")
    if now < cliff or now <= start:
        return 0
    if now >= end or cancelled:
        return total
    if curve_type == CURVE_EXPONENTIAL:
        return _exponential(total, start, end, now)
    return _linear(total, start, end, now)


def streamed_amount(
    total: int,
    start: int,
    cliff: int,
    end: int,
    now: int,
    *,
    curve_type: int = CURVE_LINEAR,
    cancelled: bool = False,
) -> int:
    """Amount streamed (unlocked) so far: same as :func:`unlocked`.

    Like the contract, a cancelled stream past its cliff reports ``total``.
    """
    return unlocked(total, start, cliff, end, now, curve_type=curve_type, cancelled=cancelled)


def withdrawable(
    total: int,
    withdrawn: int,
    start: int,
    cliff: int,
    end: int,
    now: int,
    *,
    curve_type: int = CURVE_LINEAR,
    cancelled: bool = False,
) -> int:
    """What ``withdraw`` would pay now: ``unlocked - withdrawn``, never negative.

    0 once cancelled: the cancel paid the receiver out and ``withdraw`` refuses the stream.
    """
    if cancelled:
        return 0
    amount = unlocked(total, start, cliff, end, now, curve_type=curve_type)
    return max(0, amount - withdrawn)


def refundable(
    total: int,
    start: int,
    cliff: int,
    end: int,
    now: int,
    *,
    curve_type: int = CURVE_LINEAR,
    cancelled: bool = False,
) -> int:
    """What a cancel now would return to the sender: ``total - unlocked``, never negative.

    0 once cancelled (the cancel already refunded the sender).
    """
    if cancelled:
        return 0
    amount = unlocked(total, start, cliff, end, now, curve_type=curve_type)
    return max(0, total - amount)
