"""Which V2 contracts are paused as a whole: their latest pause/unpause event is a pause."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from stellarstream.db.models import PAUSE_EVENT_TYPES, ContractEventRow
from stellarstream.streams.cache import VersionedCache

# Literal values, not bound parameters: the partial index's predicate must be provable from the
# statement itself (PostgreSQL generic plans, SQLite's planner).
_PAUSE_EVENTS = ContractEventRow.event_type.in_(
    bindparam("pause_event_types", PAUSE_EVENT_TYPES, expanding=True, literal_execute=True)
)


def paused_at(
    conn: Connection | Session, version: int, cache: VersionedCache[frozenset[str]] | None
) -> frozenset[str]:
    """V2 contracts paused as a whole, for rows read with data version ``version``.

    Pause state changes only with a stored event, so this process reuses what it last
    looked up while the version is the same (and for at most the cache's max age: see
    ``queries.DATA_VERSION`` for the one way an event can show late). No cache: looked up now.
    """
    if cache is None:
        return paused_contracts(conn)
    return cache.get(version, lambda _now: paused_contracts(conn))


def paused_contracts(
    session: Connection | Session, contract_ids: Iterable[str] | None = None
) -> frozenset[str]:
    """V2 contracts whose latest pause/unpause event is a pause.

    Among ``contract_ids`` if given (enough to test the membership of those contracts),
    else among every contract with stored events. One probe per contract of the partial
    index ``ix_contract_events_pause`` (only pause/unpause rows, in chain order), whatever
    else the contract emitted. Its predicate is rendered as literals so that PostgreSQL's
    generic plans of prepared statements can still prove it (a bound parameter cannot).
    Pause and unpause are V2's contract-wide events (V1's per-stream pause is ``v1_pause``).
    """
    candidates = _event_contracts(session) if contract_ids is None else sorted(set(contract_ids))
    paused = []
    for contract_id in candidates:
        latest = session.scalar(
            select(ContractEventRow.event_type)
            .where(ContractEventRow.contract_id == contract_id, _PAUSE_EVENTS)
            .order_by(
                ContractEventRow.ledger.desc(),
                ContractEventRow.tx_index.desc(),
                ContractEventRow.op_index.desc(),
                ContractEventRow.event_index.desc(),
            )
            .limit(1)
        )
        if latest == "pause":
            paused.append(contract_id)
    return frozenset(paused)


def _event_contracts(session: Connection | Session) -> list[str]:
    """Every contract with stored events: one index probe per contract (a skip scan)."""
    found: list[str] = []
    while True:
        query = select(func.min(ContractEventRow.contract_id))
        if found:
            query = query.where(ContractEventRow.contract_id > found[-1])
        contract_id = session.scalar(query)
        if contract_id is None:
            return found
        found.append(contract_id)
