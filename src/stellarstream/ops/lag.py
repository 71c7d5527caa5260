"""Indexer lag from the database: how far the live checkpoint trails the network.

The live indexer records, with each committed batch, the last ledger it covered (``ledger``) and
the network's newest ledger when the source answered (``latest_ledger``). Readiness, metrics and
the health monitor all read the lag from there, so they agree and none of them calls the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from stellarstream.chain.source import LIVE_SOURCE, ledgers_behind
from stellarstream.db.models import SyncState


@dataclass(frozen=True, slots=True)
class ContractLag:
    contract_id: str
    ledger: int
    latest_ledger: int | None
    updated_at: datetime

    @property
    def lag(self) -> int | None:
        """Ledgers behind the network (``None`` until the source reported its latest ledger)."""
        return ledgers_behind(self.ledger, self.latest_ledger)


def contract_lags(engine: Engine, source: str = LIVE_SOURCE) -> list[ContractLag]:
    """Every contract's live checkpoint, by contract id."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                SyncState.contract_id,
                SyncState.ledger,
                SyncState.latest_ledger,
                SyncState.updated_at,
            )
            .where(SyncState.source == source)
            .order_by(SyncState.contract_id)
        ).all()
    return [ContractLag(r[0], r[1], r[2], r[3]) for r in rows]


def max_lag(lags: list[ContractLag]) -> int | None:
    """The largest known lag, or ``None`` when no contract has one yet."""
    known = [lag.lag for lag in lags if lag.lag is not None]
    return max(known) if known else None


def lag_check(engine: Engine, max_lag_ledgers: int) -> str:
    """``"ok"`` or why the indexer is too far behind (for ``/readyz``).

    No checkpoint yet (a fresh install, or an API without an indexer) is not a failure: the API
    serves what the database holds.
    """
    worst = max_lag(contract_lags(engine))
    if worst is None or worst <= max_lag_ledgers:
        return "ok"
    return f"lagging: {worst} ledgers behind the network (limit {max_lag_ledgers})"
