"""Stream search: one query string matched as an id, a tx hash, an address, a token or a prefix."""

from __future__ import annotations

from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from stellarstream.chain.stream_ids import parse_public_id
from stellarstream.db.models import ContractEventRow, Stream
from stellarstream.errors import ValidationError
from stellarstream.pagination import check_limit


def search(
    session: Session, q: str, contract_ids: list[str], *, limit: int, offset: int
) -> tuple[list[tuple[str, Stream]], bool]:
    """Streams matching ``q``, ranked: id, tx hash, exact address, token, address prefix; and
    whether more follow."""
    check_limit(limit)
    q = q.strip()
    if len(q) < 1:
        raise ValidationError("q must not be empty", field="q")
    seen: set[int] = set()
    results: list[tuple[str, Stream]] = []
    wanted = offset + limit + 1
    for reason, condition in _ranked(q, contract_ids):
        query = (
            select(Stream)
            .where(condition)
            .order_by(Stream.created_ledger.desc(), Stream.id.desc())
            .limit(wanted)
        )
        for stream in session.scalars(query):
            if stream.id not in seen:
                seen.add(stream.id)
                results.append((reason, stream))
        if len(results) >= wanted:
            break
    page = results[offset : offset + limit]
    return page, len(results) > offset + limit


def _ranked(q: str, contract_ids: list[str]) -> list[tuple[str, ColumnElement[bool]]]:
    """What ``q`` may be, best match first: (reason, condition) pairs."""
    ranked: list[tuple[str, ColumnElement[bool]]] = []
    if q.isdigit() and len(contract_ids) == 1 and int(q) < 2**63:
        ranked.append(
            ("id", and_(Stream.contract_id == contract_ids[0], Stream.stream_id == int(q)))
        )
    elif "-" in q:
        try:
            contract_id, stream_id = parse_public_id(q, contract_ids)
        except ValidationError:
            pass
        else:
            if stream_id < 2**63:
                ranked.append(
                    ("id", and_(Stream.contract_id == contract_id, Stream.stream_id == stream_id))
                )
    lowered = q.lower()
    if len(lowered) == 64 and all(c in "0123456789abcdef" for c in lowered):
        tx_streams = select(ContractEventRow.contract_id, ContractEventRow.stream_id).where(
            ContractEventRow.tx_hash == lowered, ContractEventRow.stream_id.is_not(None)
        )
        ranked.append(("tx", tuple_(Stream.contract_id, Stream.stream_id).in_(tx_streams)))
    upper = q.upper()
    if len(upper) == 56 and upper[0] in "GC":
        ranked.append(("address", or_(Stream.sender == upper, Stream.receiver == upper)))
        ranked.append(("token", Stream.token == upper))
    elif len(upper) >= 5 and upper[0] in "GC" and upper.isalnum():
        prefix = upper + "%"
        ranked.append(
            ("address_prefix", or_(Stream.sender.like(prefix), Stream.receiver.like(prefix)))
        )
    elif len(q) < 5 and not q.isdigit():
        raise ValidationError(
            "q must be a stream id, tx hash, address, or 5+ character address prefix", field="q"
        )
    return ranked
