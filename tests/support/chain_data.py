"""A realistic, deterministic history of StellarStream events for ingestion tests and benches."""

from __future__ import annotations

from stellarstream.chain.types import RawEvent
from tests.support import contract_events as ce


def stream_history(
    n_streams: int, *, contract_id: str = ce.V2_CONTRACT, first_ledger: int = 100
) -> list[RawEvent]:
    """Per stream: create, two claims, and a top-up, cancel or archive; every 7th amount > 2**63."""
    events: list[RawEvent] = []
    ledger = first_ledger
    for sid in range(n_streams):
        sender, receiver = ce.account(1 + sid % 50), ce.account(100 + sid % 97)
        amount = 10**12 + sid if sid % 7 else 2**64 + sid
        start, end = 1_000 + sid, 101_000 + sid
        tx = 0

        def add(encoded: ce.Encoded, bump: int = 1, sid: int = sid) -> None:
            nonlocal ledger, tx
            ledger += bump
            tx += 1
            events.append(
                ce.raw_event(
                    *encoded,
                    contract_id=contract_id,
                    ledger=ledger,
                    tx_hash=ce.tx_hash_for(sid * 10 + tx),
                    tx_index=tx,
                    event_index=1,  # a token transfer event precedes ours in each tx
                )
            )

        add(ce.create_v2(sid, sender, receiver, ce.TOKEN, amount, start, start, end, start - 10))
        add(ce.claim(sid, receiver, amount // 10, amount // 10, start + 10_000))
        add(ce.claim(sid, receiver, amount // 10, amount // 5, start + 20_000), bump=0)
        match sid % 3:
            case 0:
                add(ce.top_up(sid, sender, amount, 2 * amount, end + 50_000, start + 30_000))
            case 1:
                add(ce.cancel(sid, sender, amount // 4, amount // 2, start + 50_000))
            case _:
                add(ce.archived(sid, amount, amount, sender, end + 1))
    return events
