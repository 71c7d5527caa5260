"""Which ledger ranges are fully stored, per contract and source; and the gaps between them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from stellarstream.db.models import SyncRange

Range = tuple[int, int]  # inclusive


def merge(ranges: Iterable[Range]) -> list[Range]:
    """Union of inclusive ranges, adjacent ones joined, sorted."""
    merged: list[Range] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def gaps(covered: Iterable[Range], start: int, end: int) -> list[Range]:
    """Parts of ``[start, end]`` not in ``covered``."""
    missing: list[Range] = []
    position = start
    for a, b in merge(covered):
        if b < position:
            continue
        if a > end:
            break
        if a > position:
            missing.append((position, a - 1))
        position = max(position, b + 1)
    if position <= end:
        missing.append((position, end))
    return missing


def record(
    session: Session, contract_ids: list[str], source: str, start: int, end: int, now: datetime
) -> None:
    """Mark ``[start, end]`` stored for each contract (merging with what is there)."""
    if end < start:
        return
    for contract_id in contract_ids:
        rows = list(
            session.scalars(
                select(SyncRange).where(
                    SyncRange.contract_id == contract_id,
                    SyncRange.source == source,
                    SyncRange.to_ledger >= start - 1,
                    SyncRange.from_ledger <= end + 1,
                )
            )
        )
        low = min([start, *(r.from_ledger for r in rows)])
        high = max([end, *(r.to_ledger for r in rows)])
        if rows:
            session.execute(delete(SyncRange).where(SyncRange.id.in_([r.id for r in rows])))
        session.add(
            SyncRange(
                contract_id=contract_id,
                source=source,
                from_ledger=low,
                to_ledger=high,
                updated_at=now,
            )
        )


def covered(session: Session, contract_id: str, source: str | None = None) -> list[Range]:
    """Merged stored ranges of ``contract_id`` (one source, or all)."""
    query = select(SyncRange.from_ledger, SyncRange.to_ledger).where(
        SyncRange.contract_id == contract_id
    )
    if source is not None:
        query = query.where(SyncRange.source == source)
    return merge((int(a), int(b)) for a, b in session.execute(query))


def by_source(session: Session) -> dict[tuple[str, str], list[Range]]:
    """Merged stored ranges for every (contract, source)."""
    out: dict[tuple[str, str], list[Range]] = {}
    rows = session.execute(
        select(SyncRange.contract_id, SyncRange.source, SyncRange.from_ledger, SyncRange.to_ledger)
    )
    for contract_id, source, a, b in rows:
        out.setdefault((contract_id, source), []).append((int(a), int(b)))
    return {key: merge(value) for key, value in out.items()}
