"""Source-agnostic records that flow from a source into decode and store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)  # no __slots__: see chain.events (pickled by the sync's worker)
class RawEvent:
    """One contract event as a source delivered it, before decoding.

    ``event_index`` is the event's position among *all* contract events of its transaction
    (0-based), so ``(tx_hash, event_index)`` is the same whichever source delivered it.
    ``tx_index`` is the 1-based apply order of the transaction in its ledger (the TOID's).

    The topics and value come as base64 XDR (``topic_xdr``, ``value_xdr``) or, from an RPC node
    asked for ``xdrFormat: "json"``, as compact XDR-JSON text (``topic_json``, ``value_json``;
    SEP-51) with ``topic_xdr`` empty and ``value_xdr`` ``""``: one form or the other.
    """

    contract_id: str
    ledger: int
    ledger_closed_at: datetime
    tx_hash: str
    tx_index: int
    op_index: int
    event_index: int
    topic_xdr: tuple[str, ...]
    value_xdr: str
    in_successful_call: bool = True
    topic_json: tuple[str, ...] | None = None
    value_json: str | None = None

    @property
    def order_key(self) -> tuple[int, int, int, int]:
        """Chain order: (ledger, tx_index, op_index, event_index)."""
        return (self.ledger, self.tx_index, self.op_index, self.event_index)
