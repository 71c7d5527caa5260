"""Projection: stream state is a pure function of its events in chain order."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support import contract_events as ce

from stellarstream.chain.decode import decode
from stellarstream.projection.fold import Located, project

C = ce.V2_CONTRACT
SENDER, RECEIVER, OTHER = ce.account(1), ce.account(2), ce.account(3)
BIG = 2**100 + 12345


def located(encoded: ce.Encoded, ledger: int, event_index: int = 0, tx: int = 0) -> Located:
    raw = ce.raw_event(
        *encoded,
        contract_id=C,
        ledger=ledger,
        tx_hash=ce.tx_hash_for(tx or ledger),
        event_index=event_index,
    )
    return Located(
        decode(raw), raw.ledger, raw.tx_index, raw.op_index, raw.event_index, raw.tx_hash
    )


def created(stream_id: int = 0, amount: int = 1000, memo: str | None = None) -> Located:
    return located(
        ce.create_v2(stream_id, SENDER, RECEIVER, ce.TOKEN, amount, 100, 150, 1100, 90, memo), 10
    )


def test_create_sets_every_field() -> None:
    row = project(C, 0, [created(amount=BIG, memo="inv1")])
    assert row is not None
    assert row["version"] == 2
    assert (row["sender"], row["receiver"], row["beneficiary"], row["token"]) == (
        SENDER,
        RECEIVER,
        RECEIVER,
        ce.TOKEN,
    )
    assert (row["total_amount"], row["withdrawn_amount"]) == (BIG, 0)
    assert (row["start_time"], row["cliff_time"], row["end_time"]) == (100, 150, 1100)
    assert (row["memo"], row["created_at"], row["created_ledger"], row["created_tx"]) == (
        "inv1",
        90,
        10,
        ce.tx_hash_for(10),
    )
    assert not (row["cancelled"] or row["archived"] or row["paused"])


def test_no_creation_no_stream() -> None:
    assert project(C, 0, [located(ce.claim(0, RECEIVER, 5, 5, 200), 11)]) is None


def test_claims_set_the_cumulative_withdrawn() -> None:
    events = [
        created(),
        located(ce.claim(0, RECEIVER, 100, 100, 300), 11),
        located(ce.claim(0, RECEIVER, 50, 150, 400), 12),
    ]
    row = project(C, 0, events)
    assert row is not None and row["withdrawn_amount"] == 150 and row["updated_ledger"] == 12


def test_meta_withdrawal_adds_gross() -> None:
    events = [created(), located(ce.meta_wdrw(0, RECEIVER, 90, 10, 300), 11)]
    row = project(C, 0, events)
    assert row is not None and row["withdrawn_amount"] == 100


def test_cancel_records_the_split_and_withdrawn_becomes_unlocked_at_cancel() -> None:
    # total 1000 over [100, 1100], cliff 150; cancel at 600 -> unlocked 500
    events = [created(), located(ce.cancel(0, SENDER, 480, 500, 600), 11)]
    row = project(C, 0, events)
    assert row is not None
    assert row["cancelled"] and row["cancelled_at"] == 600
    assert (row["cancel_to_receiver"], row["cancel_to_sender"]) == (480, 500)
    assert row["withdrawn_amount"] == 500


def test_top_up_refill_archive_and_beneficiary() -> None:
    events = [
        created(),
        located(ce.top_up(0, SENDER, 500, 1500, 2000, 200), 11),
        located(ce.benefic(0, RECEIVER, OTHER, 210), 12),
    ]
    row = project(C, 0, events)
    assert row is not None
    assert (row["total_amount"], row["end_time"], row["beneficiary"]) == (1500, 2000, OTHER)
    refilled = project(
        C,
        0,
        [
            *events,
            located(ce.claim(0, OTHER, 1500, 1500, 2100), 13),
            located(ce.refill(0, SENDER, 700, 2000, 3000, 2100), 14),
        ],
    )
    assert refilled is not None
    assert (
        refilled["total_amount"],
        refilled["start_time"],
        refilled["end_time"],
        refilled["withdrawn_amount"],
    ) == (700, 2000, 3000, 0)
    archived = project(C, 0, [*events, located(ce.archived(0, 1500, 1500, SENDER, 2500), 15)])
    assert archived is not None and archived["archived"] and archived["archived_at"] == 2500
    assert archived["withdrawn_amount"] == 1500


def test_v1_create_topup_pause_resume() -> None:
    c1 = ce.V1_CONTRACT

    def v1(encoded: ce.Encoded, ledger: int) -> Located:
        raw = ce.raw_event(*encoded, contract_id=c1, ledger=ledger, tx_hash=ce.tx_hash_for(ledger))
        return Located(
            decode(raw), raw.ledger, raw.tx_index, raw.op_index, raw.event_index, raw.tx_hash
        )

    events = [
        v1(ce.v1_create(3, SENDER, RECEIVER, ce.TOKEN, BIG, 100, 200, 50), 5),
        v1(ce.v1_topup(3, SENDER, 10, BIG + 10, 300, 60), 6),
        v1(ce.v1_pause(3, SENDER, 70), 7),
    ]
    row = project(c1, 3, events)
    assert row is not None and row["version"] == 1
    assert (row["total_amount"], row["end_time"], row["paused"], row["paused_at"]) == (
        BIG + 10,
        300,
        True,
        70,
    )
    resumed = project(c1, 3, [*events, v1(ce.v1_resume(3, SENDER, 20, 90), 8)])
    assert resumed is not None and not resumed["paused"]


def history() -> list[Located]:
    return [
        created(),
        located(ce.claim(0, RECEIVER, 100, 100, 300), 11, event_index=1),
        located(ce.top_up(0, SENDER, 500, 1500, 2000, 301), 11, event_index=2),
        located(ce.claim(0, RECEIVER, 200, 300, 400), 12),
        located(ce.benefic(0, RECEIVER, OTHER, 410), 13),
        located(ce.claim(0, OTHER, 50, 350, 500), 14),
        located(ce.cancel(0, SENDER, 100, 600, 900), 15),
    ]


@settings(max_examples=50)
@given(st.randoms(use_true_random=False))
def test_arrival_order_does_not_matter(rnd: random.Random) -> None:
    events = history()
    expected = project(C, 0, events)
    shuffled = events[:]
    rnd.shuffle(shuffled)
    assert project(C, 0, shuffled) == expected


def test_order_within_a_ledger_follows_event_index() -> None:
    a = located(ce.claim(0, RECEIVER, 100, 100, 300), 11, event_index=1)
    b = located(ce.claim(0, RECEIVER, 100, 200, 300), 11, event_index=2)
    assert project(C, 0, [created(), b, a])["withdrawn_amount"] == 200  # type: ignore[index]
