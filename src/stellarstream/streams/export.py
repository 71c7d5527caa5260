"""The accounting export: one CSV row per amount of each event of an address's streams."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from stellarstream.chain.stream_ids import public_id
from stellarstream.db.models import ContractEventRow, Stream
from stellarstream.tokens.directory import TokenDirectory

HEADER = (
    "stream",
    "direction",
    "event",
    "ledger",
    "time",
    "tx_hash",
    "token",
    "field",
    "amount_base_units",
    "amount_token_units",
    "token_symbol",  # last: columns before it keep their places
)
# The decoded event fields that hold amounts, in column order.
AMOUNT_FIELDS = (
    "amount",
    "withdrawn_total",
    "to_receiver",
    "to_sender",
    "relayer_fee",
    "extra",
    "new_total",
    "total",
    "withdrawn",
    "total_amount",
    "gross",
    "remaining",
)


def export_rows(session: Session, address: str) -> Iterator[tuple[Stream, ContractEventRow]]:
    """Every event of the address's streams, stream by stream, in chain order."""
    streams = session.scalars(
        select(Stream)
        .where(or_(Stream.sender == address, Stream.receiver == address))
        .order_by(Stream.created_ledger, Stream.id)
    )
    for stream in streams:
        events = session.scalars(
            select(ContractEventRow)
            .where(
                ContractEventRow.contract_id == stream.contract_id,
                ContractEventRow.stream_id == stream.stream_id,
            )
            .order_by(
                ContractEventRow.ledger,
                ContractEventRow.tx_index,
                ContractEventRow.op_index,
                ContractEventRow.event_index,
            )
        )
        for event in events:
            yield stream, event


def csv_chunks(
    sessions: sessionmaker[Session], address: str, tokens: TokenDirectory
) -> Iterator[str]:
    """The export's CSV text, the header first then one chunk per event; the session opens
    when the first chunk is asked for (as the response starts)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    with sessions() as session:
        for stream, event in export_rows(session, address):
            direction = "out" if stream.sender == address else "in"
            token = tokens.known(stream.token)
            amounts: list[tuple[str, int | None]] = [*amount_fields(event.decoded)]
            amounts = amounts or [("", None)]
            for field, value in amounts:
                units = "" if value is None else token_units(value, token.decimals)
                writer.writerow(
                    [
                        public_id(stream.contract_id, stream.stream_id),
                        direction,
                        event.event_type,
                        event.ledger,
                        event.ledger_closed_at.isoformat(),
                        event.tx_hash,
                        stream.token,
                        field,
                        "" if value is None else value,
                        units,
                        token.symbol or "",
                    ]
                )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def amount_fields(decoded: dict[str, object]) -> list[tuple[str, int]]:
    """The event's amounts as (field, base units), in :data:`AMOUNT_FIELDS` order."""
    return [(f, int(str(decoded[f]))) for f in AMOUNT_FIELDS if decoded.get(f) is not None]


def token_units(value: int, decimals: int) -> str:
    """Base units as a fixed-point decimal string (exact for any i128: integer arithmetic)."""
    whole, fraction = divmod(abs(value), 10**decimals)
    sign = "-" if value < 0 else ""
    return f"{sign}{whole}.{fraction:0{decimals}d}" if decimals else f"{sign}{whole}"
