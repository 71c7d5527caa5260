"""The hot reads' JSON of a stream is exactly what the StreamOut model serialises."""

from __future__ import annotations

import random

import pytest

from stellarstream.api.presenters import stream_document
from stellarstream.api.schemas.common import TokenInfoOut
from stellarstream.api.schemas.streams import StreamOut
from stellarstream.chain.stream_ids import public_id
from stellarstream.db.models import Stream
from stellarstream.streams.view import amounts_of, status_of
from stellarstream.tokens.directory import TokenInfo

C = "CA3D5KRYM6CB7OWQ6TWYRR3Z4T7GNZLKERYNZGGA5SOAOPIFY6YQGAXE"
G1 = "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"
G2 = "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H"


def _stream(rng: random.Random) -> Stream:
    total = rng.choice([1, 10**7, 2**63 + 5, 2**127 - 1])
    start = rng.randrange(1_700_000_000, 1_800_000_000)
    cancelled = rng.random() < 0.3
    return Stream(
        id=rng.randrange(1, 10**6),
        contract_id=C,
        stream_id=rng.randrange(0, 2**64),
        version=rng.choice([1, 2]),
        sender=G1,
        receiver=G2,
        beneficiary=G2,
        token=C,
        total_amount=total,
        withdrawn_amount=rng.randrange(0, total + 1),
        start_time=start,
        cliff_time=start + rng.choice([0, 100]),
        end_time=start + rng.randrange(1, 10**7),
        curve_type=0,
        cancelled=cancelled,
        cancelled_at=start + 5 if cancelled else None,
        cancel_to_receiver=rng.randrange(0, total + 1) if cancelled else None,
        cancel_to_sender=rng.randrange(0, total + 1) if cancelled else None,
        archived=rng.random() < 0.1,
        archived_at=None,
        paused=rng.random() < 0.1,
        memo=rng.choice([None, "inv-abc"]),
        yield_enabled=rng.random() < 0.5,
        created_ledger=rng.randrange(1, 10**8),
        created_tx="ab" * 32,
        created_at=start,
        updated_ledger=rng.randrange(1, 10**8),
    )


@pytest.mark.parametrize("seed", range(40))
def test_document_equals_the_models_json(seed: int) -> None:
    rng = random.Random(seed)
    stream = _stream(rng)
    now = stream.start_time + rng.randrange(-100, 2 * 10**7)
    paused = frozenset({C}) if rng.random() < 0.3 else frozenset()
    slug = stream.memo if rng.random() < 0.5 else None
    amounts = amounts_of(stream, now)
    symbol = rng.choice([None, "USDC"])
    token = TokenInfo(C, symbol, symbol and f"{symbol}:{G1}", rng.choice([0, 7, 18]), None)
    model = StreamOut(
        id=public_id(stream.contract_id, stream.stream_id),
        contract=stream.contract_id,
        stream_id=stream.stream_id,
        version=stream.version,
        sender=stream.sender,
        receiver=stream.receiver,
        beneficiary=stream.beneficiary,
        token=stream.token,
        token_info=TokenInfoOut(
            address=C, symbol=token.symbol, name=token.name, decimals=token.decimals
        ),
        total_amount=stream.total_amount,
        withdrawn_amount=stream.withdrawn_amount,
        start_time=stream.start_time,
        cliff_time=stream.cliff_time,
        end_time=stream.end_time,
        status=status_of(stream, now, paused),
        streamed_amount=amounts.streamed,
        withdrawable_amount=amounts.withdrawable,
        refundable_amount=amounts.refundable,
        canceled_at=stream.cancelled_at,
        cancel_to_receiver=stream.cancel_to_receiver,
        cancel_to_sender=stream.cancel_to_sender,
        archived_at=stream.archived_at,
        yield_enabled=stream.yield_enabled,
        memo=stream.memo,
        invoice_slug=slug,
        created_ledger=stream.created_ledger,
        created_tx=stream.created_tx,
        created_at=stream.created_at,
        updated_ledger=stream.updated_ledger,
        as_of=now,
    )
    document = stream_document(stream, now, paused, slug, token.document())
    assert document == model.model_dump(mode="json", by_alias=True)
    assert list(document) == list(model.model_dump(mode="json", by_alias=True))  # same order
    assert StreamOut.model_validate(document) == model  # and it reads back as the model
