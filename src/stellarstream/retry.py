"""One retry policy: exponential backoff with jitter and a cap, and ``Retry-After`` (RFC 9110).

A :class:`Backoff` is a value: the wait after failed attempt ``n`` (1-based) is
``base * factor ** (n - 1)``, the exponent held to ``max_exponent``, then capped at ``cap``, then
jittered. ``retries`` is how many retries follow the first attempt (None: no limit, for loops
that run until stopped). :func:`retry_after` reads a ``Retry-After`` header in both forms
(delta-seconds and HTTP-date); :meth:`Backoff.wait` prefers it over the formula, capped alike.

Jitter (``rng`` is injectable, so tests are deterministic):

* ``"none"``: the formula as is;
* ``"full"``: uniform in ``[0, d]`` (spreads a herd of clients the most);
* ``"equal"``: uniform in ``[d/2, d]`` (never retries at once);
* ``"spread"``: ``d`` times uniform in ``[1 - spread, 1 + spread]`` (±10 % by default).
"""

from __future__ import annotations

import email.utils
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

Jitter = Literal["none", "full", "equal", "spread"]


class Uniform(Protocol):
    """A random source: what :class:`random.Random` offers and a jitter needs."""

    def uniform(self, a: float, b: float) -> float: ...


_RNG = random.Random()  # noqa: S311 - jitter, not cryptography


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait before retry ``n``, and how many retries there are."""

    base: float
    factor: float = 2.0
    cap: float | None = None
    jitter: Jitter = "none"
    spread: float = 0.1
    max_exponent: int = 60
    retries: int | None = None

    def ceiling(self, attempt: int) -> float:
        """The wait after failed attempt ``attempt`` (1-based) before jitter, capped."""
        exponent = max(0, min(attempt - 1, self.max_exponent))
        delay = self.base * self.factor**exponent
        return delay if self.cap is None else min(self.cap, delay)

    def delay(self, attempt: int, rng: Uniform | None = None) -> float:
        """The jittered wait after failed attempt ``attempt`` (1-based)."""
        ceiling = self.ceiling(attempt)
        source = _RNG if rng is None else rng
        if self.jitter == "full":
            return source.uniform(0.0, ceiling)
        if self.jitter == "equal":
            return source.uniform(ceiling / 2, ceiling)
        if self.jitter == "spread":
            return ceiling * source.uniform(1 - self.spread, 1 + self.spread)
        return ceiling

    def wait(self, attempt: int, retry_after: float | None, rng: Uniform | None = None) -> float:
        """The wait after failed attempt ``attempt``: the server's ``retry_after`` (seconds,
        capped) when it gave one, else :meth:`delay`."""
        if retry_after is None:
            return self.delay(attempt, rng)
        return retry_after if self.cap is None else min(self.cap, retry_after)

    def exhausted(self, attempt: int) -> bool:
        """True once ``attempt`` (1-based) failed and no retry is left."""
        return self.retries is not None and attempt > self.retries


def retry_after(
    value: str | None, now: datetime | None = None, *, cap: float | None = None
) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, or None if absent or unreadable.

    Both RFC 9110 forms: delta-seconds (``"120"``; fractions and negatives are tolerated,
    negatives read as 0) and an HTTP-date (``"Wed, 21 Oct 2015 07:28:00 GMT"``: the time until
    then from ``now``, 0 if past). ``cap`` bounds the result.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    seconds = max(0.0, seconds)
    return seconds if cap is None else min(cap, seconds)
