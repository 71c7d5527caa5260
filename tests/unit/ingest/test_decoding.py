"""Decoding in worker processes gives what decode() gives, in order, with the stored JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from tests.support.chain_data import stream_history

from stellarstream.chain.decode import decode
from stellarstream.chain.events import to_json
from stellarstream.chain.source import Batch
from stellarstream.errors import SourceError
from stellarstream.ingest.decoding import MIN_POOL_BATCH, Decoder

EVENTS = stream_history(MIN_POOL_BATCH // 4 + 50)  # large enough for the pool


def test_workers_decode_like_decode_and_render_the_stored_json() -> None:
    with Decoder(workers=2) as decoder:
        result = decoder.decode(EVENTS)
    expected = [decode(raw) for raw in EVENTS]
    assert result.events == expected
    assert result.decoded_json == [json.dumps(to_json(event)) for event in expected]


def test_without_workers_the_result_is_the_same() -> None:
    with Decoder(workers=0) as decoder:
        assert decoder.decode(EVENTS[:10]).events == [decode(raw) for raw in EVENTS[:10]]


def batches(fail: bool) -> Iterator[Batch]:
    half = len(EVENTS) // 2
    yield Batch(EVENTS[:half], 1, "a", 9, "rpc")
    yield Batch(EVENTS[half:], 2, "b", 9, "rpc")
    if fail:
        raise SourceError("node went away")


@pytest.mark.parametrize("workers", [0, 1])
def test_ahead_yields_every_batch_in_order_then_the_source_error(workers: int) -> None:
    seen = []
    with Decoder(workers=workers) as decoder, pytest.raises(SourceError):
        for batch, decoded in decoder.ahead(batches(fail=True)):
            seen.append(batch.cursor)
            if decoded is not None:
                assert decoded.events == [decode(raw) for raw in batch.events]
    assert seen == ["a", "b"]


def test_small_batches_are_left_to_the_caller() -> None:
    with Decoder(workers=1) as decoder:
        out = list(decoder.ahead([Batch(EVENTS[:5], 1, None, 9, "rpc")]))
    assert out[0][1] is None
