"""The sync position per (contract, source), committed with the events it covers.

``ledger`` is the last ledger below which (inclusive) every event is stored; ``cursor`` is the
source's exact resume position (RPC). Both only ever move forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from stellarstream.db.models import SyncState


@dataclass(frozen=True, slots=True)
class Position:
    ledger: int
    cursor: str | None


def load(session: Session, contract_ids: list[str], source: str) -> Position | None:
    """Where to resume for all ``contract_ids`` together, or ``None`` if any has no checkpoint.

    The position is the lowest of the contracts' ledgers (so none is skipped); the cursor is
    used only when every contract agrees on it.
    """
    rows = list(
        session.scalars(
            select(SyncState).where(
                SyncState.contract_id.in_(contract_ids), SyncState.source == source
            )
        )
    )
    if len(rows) < len(set(contract_ids)) or not rows:
        return None
    lowest = min(rows, key=lambda r: r.ledger)
    cursors = {r.cursor for r in rows}
    return Position(lowest.ledger, lowest.cursor if len(cursors) == 1 else None)


def advance(
    session: Session,
    contract_ids: list[str],
    source: str,
    ledger: int,
    cursor: str | None,
    now: datetime,
    latest_ledger: int | None = None,
) -> None:
    """Record that everything up to ``ledger`` is stored; never moves a checkpoint back.

    ``latest_ledger`` is the source's newest ledger when it answered (for lag reporting).
    """
    for contract_id in contract_ids:
        state = session.get(SyncState, (contract_id, source), with_for_update=True)
        if state is None:
            session.add(
                SyncState(
                    contract_id=contract_id,
                    source=source,
                    ledger=ledger,
                    cursor=cursor,
                    latest_ledger=latest_ledger,
                    updated_at=now,
                )
            )
        elif ledger >= state.ledger:
            state.ledger = ledger
            state.cursor = cursor
            state.updated_at = now
            if latest_ledger is not None:
                state.latest_ledger = max(latest_ledger, state.latest_ledger or 0)
