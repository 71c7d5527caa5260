from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stellarstream.invoices.lifecycle import TRANSITIONS, InvoiceStatus, effective_status

S = InvoiceStatus
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("src", "dst", "ok"),
    [
        (S.DRAFT, S.SIGNED, True),
        (S.DRAFT, S.COMPLETED, True),
        (S.DRAFT, S.CANCELED, True),
        (S.SIGNED, S.COMPLETED, True),
        (S.SIGNED, S.CANCELED, True),
        (S.SIGNED, S.DRAFT, False),
        (S.DRAFT, S.EXPIRED, False),
        (S.COMPLETED, S.CANCELED, False),
        (S.CANCELED, S.DRAFT, False),
        (S.EXPIRED, S.SIGNED, False),
    ],
)
def test_transitions(src: InvoiceStatus, dst: InvoiceStatus, ok: bool) -> None:
    assert (dst in TRANSITIONS[src]) is ok


def test_final_states_have_no_way_out() -> None:
    assert all(not TRANSITIONS[s] for s in (S.COMPLETED, S.EXPIRED, S.CANCELED))


@pytest.mark.parametrize("stored", [S.DRAFT, S.SIGNED])
def test_open_links_past_expiry_read_expired(stored: InvoiceStatus) -> None:
    assert effective_status(stored, NOW, NOW) is S.EXPIRED
    assert effective_status(stored, NOW + timedelta(seconds=1), NOW) is stored
    assert effective_status(stored, None, NOW) is stored


@pytest.mark.parametrize("stored", [S.COMPLETED, S.CANCELED])
def test_final_links_never_read_expired(stored: InvoiceStatus) -> None:
    assert effective_status(stored, NOW - timedelta(days=1), NOW) is stored
