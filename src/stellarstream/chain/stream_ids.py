"""Public stream ids: ``{contract_id}-{stream_id}``, unique across contracts and stable.

``C...`` contract ids are alphanumeric, so the last ``-`` separates the on-chain stream id.
Where exactly one contract is configured, a bare on-chain id (``42``) is accepted too.
Here, with the chain's other identifiers, because the layers below the read side (the
webhooks' stream events) name streams by it too.
"""

from __future__ import annotations

from stellarstream.chain.addresses import is_contract
from stellarstream.errors import ValidationError

U64_MAX = 2**64 - 1


def public_id(contract_id: str, stream_id: int) -> str:
    return f"{contract_id}-{stream_id}"


def parse_public_id(value: str, contract_ids: list[str]) -> tuple[str, int]:
    """``(contract_id, stream_id)`` from a public id (or a bare id with one contract)."""
    contract, sep, number = value.rpartition("-")
    if not sep:
        if len(contract_ids) != 1:
            raise ValidationError(
                "stream id must be '<contract>-<id>' (e.g. CABC...-42)", field="id"
            )
        contract, number = contract_ids[0], value
    if not is_contract(contract):
        raise ValidationError(f"{contract!r} is not a contract id (C...)", field="id")
    if not number.isascii() or not number.isdigit() or int(number) > U64_MAX:
        raise ValidationError("the on-chain stream id must be a non-negative integer", field="id")
    return contract, int(number)
