"""Human formatting for pages: token amounts, durations, dates."""

from __future__ import annotations

from datetime import UTC, datetime

from stellarstream.chain.addresses import short

__all__ = [
    "countdown",
    "duration_words",
    "from_unix",
    "iso",
    "rate_per_day",
    "short",
    "token_units",
    "when",
]

UNITS = (("year", 365 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def token_units(amount: int, decimals: int) -> str:
    """``10000000000`` with 7 decimals -> ``"1,000"``; exact for any i128 (integer arithmetic:
    ``Decimal`` would round to 28 digits), trailing zeros dropped."""
    whole, fraction = divmod(abs(amount), 10**decimals)
    text = f"{'-' if amount < 0 else ''}{whole:,}"
    if fraction:
        text += "." + str(fraction).zfill(decimals).rstrip("0")
    return text


def rate_per_day(amount: int, duration: int, decimals: int) -> str:
    """Token units streamed per day, truncated to the token's precision (as the contract does)."""
    return token_units(amount * 86400 // duration, decimals)


def duration_words(seconds: int, *, parts: int = 2) -> str:
    """``2_595_600`` -> ``"30 days 1 hour"`` (the ``parts`` largest non-zero units)."""
    if seconds <= 0:
        return "0 seconds"
    words = []
    rest = seconds
    for name, size in UNITS:
        count, rest = divmod(rest, size)
        if count:
            words.append(f"{count} {name}{'' if count == 1 else 's'}")
        if len(words) == parts:
            break
    return " ".join(words)


def countdown(seconds: int) -> str:
    """``"2 days 03:04:05"`` (``"03:04:05"`` under a day): what the page's clock ticks."""
    seconds = max(0, seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days} day{'' if days == 1 else 's'} {clock}" if days else clock


def when(moment: datetime) -> str:
    """``"26 Nov 2026, 13:45 UTC"``."""
    return moment.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
