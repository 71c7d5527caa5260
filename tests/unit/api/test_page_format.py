"""How the invoice page writes amounts, durations and rates."""

from __future__ import annotations

import pytest

from stellarstream.api.pages.format import (
    countdown,
    duration_words,
    rate_per_day,
    short,
    token_units,
)


@pytest.mark.parametrize(
    ("amount", "decimals", "text"),
    [
        (10_000_000_000, 7, "1,000"),
        (1, 7, "0.0000001"),
        (12_345_678, 7, "1.2345678"),
        (2**127 - 1, 7, "17,014,118,346,046,923,173,168,730,371,588.4105727"),
        (5, 0, "5"),
        (1_500_000, 6, "1.5"),
    ],
)
def test_token_units_are_exact(amount: int, decimals: int, text: str) -> None:
    assert token_units(amount, decimals) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1 second"),
        (90, "1 minute 30 seconds"),
        (3600, "1 hour"),
        (86400 * 30, "30 days"),
        (86400 * 30 + 3600 + 5, "30 days 1 hour"),
        (86400 * 400, "1 year 35 days"),
        (0, "0 seconds"),
    ],
)
def test_durations_in_words(seconds: int, text: str) -> None:
    assert duration_words(seconds) == text


def test_rate_per_day_truncates_like_the_contract() -> None:
    assert rate_per_day(10_000_000_000, 30 * 86400, 7) == "33.3333333"
    assert rate_per_day(100, 172800, 0) == "50"
    assert rate_per_day(2**127 - 1, 86400, 7) == token_units(2**127 - 1, 7)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "00:00:00"),
        (-5, "00:00:00"),
        (3661, "01:01:01"),
        (86400, "1 day 00:00:00"),
        (2 * 86400 + 3 * 3600, "2 days 03:00:00"),
    ],
)
def test_countdown(seconds: int, text: str) -> None:
    assert countdown(seconds) == text


def test_short_addresses() -> None:
    assert short("GABCDEFGHIJKLMNOP") == "GABC…MNOP"
    assert short("G12") == "G12"
