"""Every API method of the SDK, sync and async, against the real API on SQLite and PostgreSQL,
with streams seeded through the real ingestion path."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from stellar_sdk import Keypair
from tests.support import contract_events as ce

from conftest import CONTRACT, NOW, one_stream, seed
from nebula_sdk import (
    AsyncCursorPage,
    AsyncNebulaClient,
    InvoiceLinkStatus,
    NebulaClient,
    NotFoundError,
    Stream,
    StreamStatus,
    SyncCursorPage,
)

BIG = 2**64 + 7
SENDER, RECEIVER, OTHER = ce.account(1), ce.account(2), ce.account(3)


def _history(database_url: str) -> None:
    """Seven streams: one huge, one canceled, one with a claim; all at ``NOW``-relative times."""
    events = [one_stream(n, amount=BIG if n == 0 else 1_000_000 + n) for n in range(7)]
    events.append(
        ce.raw_event(
            *ce.claim(1, RECEIVER, 100, 100, 45_000),
            contract_id=CONTRACT,
            ledger=30,
            tx_hash=ce.tx_hash_for(31),
        )
    )
    events.append(
        ce.raw_event(
            *ce.cancel(2, SENDER, 500_000, 500_002, 50_000),
            contract_id=CONTRACT,
            ledger=31,
            tx_hash=ce.tx_hash_for(32),
        )
    )
    seed(database_url, events)


def _check_stream(stream: Stream) -> None:
    assert stream.id == f"{CONTRACT}-0" and stream.stream_id == 0 and stream.contract == CONTRACT
    assert stream.total_amount == BIG and isinstance(stream.total_amount, int)
    assert stream.status is StreamStatus.ACTIVE and stream.as_of == NOW
    # the contract's own integer math (its overflow fallback for amounts this big)
    assert 0 < stream.streamed_amount < BIG
    assert stream.withdrawable_amount == stream.streamed_amount
    assert stream.refundable_amount == BIG - stream.streamed_amount
    assert (stream.sender, stream.receiver, stream.token) == (SENDER, RECEIVER, ce.TOKEN)
    assert stream.to_dict()["totalAmount"] == str(BIG)  # decimal string on the wire


def test_streams_reads_sync(client: NebulaClient, database_url: str) -> None:
    _history(database_url)
    stream = client.streams.retrieve(f"{CONTRACT}-0")
    _check_stream(stream)

    page = client.streams.list(limit=3)
    assert isinstance(page, SyncCursorPage) and len(page.data) == 3 and page.has_next_page()
    second = page.next_page()
    assert {s.id for s in second.data}.isdisjoint({s.id for s in page.data})
    everything = list(page)  # iterating walks every page
    assert len(everything) == 7 and len({s.id for s in everything}) == 7
    assert [len(p.data) for p in page.iter_pages()] == [3, 3, 1]
    last = list(page.iter_pages())[-1]
    assert not last.has_next_page()
    with pytest.raises(RuntimeError, match="last page"):
        last.next_page()

    canceled = client.streams.list(status=StreamStatus.CANCELED)
    assert [s.stream_id for s in canceled] == [2]
    assert {s.stream_id for s in client.streams.list(address=RECEIVER, direction="in")} == set(
        range(7)
    )
    assert list(client.streams.list(sender=OTHER)) == []
    oldest = client.streams.list(sort="created_asc", limit=1).data[0]
    assert oldest.stream_id == 0

    events = client.streams.list_events(f"{CONTRACT}-1", limit=1)
    assert [e.type for e in events] == ["create_v2", "claim"]
    history = client.streams.retrieve_history(f"{CONTRACT}-2")
    assert history.stream.status is StreamStatus.CANCELED
    assert [e.type for e in history.events] == ["create_v2", "cancel"]
    assert history.events[1].decoded["to_receiver"] == "500000"

    yield_now = client.streams.retrieve_yield(f"{CONTRACT}-0")
    assert yield_now.stream == f"{CONTRACT}-0" and yield_now.as_of == NOW
    projection = client.streams.project_yield(f"{CONTRACT}-0", days=30)
    assert projection.days == 30 and isinstance(projection.projected_yield_estimate, int)

    stats = client.stats.retrieve()
    assert (stats.total, stats.canceled, stats.active) == (7, 1, 6)
    assert stats.tokens[0].token == ce.TOKEN and stats.tokens[0].total_volume >= BIG
    sync = client.sync_status.retrieve()
    assert [c.contract for c in sync.contracts] == [CONTRACT]
    assert sync.contracts[0].last_ingested_ledger == 31

    hits = client.streams.search(f"{CONTRACT}-3")
    assert [(h.match, h.stream.stream_id) for h in hits] == [("id", 3)]
    by_address = client.streams.search(SENDER, limit=2)
    assert len(list(by_address)) == 7

    csv_text = client.streams.export_csv(SENDER)
    assert csv_text.splitlines()[0].startswith("stream,direction,event")
    assert f"{CONTRACT}-2,out,cancel" in csv_text


def test_streams_reads_async(
    make_async: Callable[..., AsyncNebulaClient], database_url: str
) -> None:
    _history(database_url)

    async def main() -> None:
        async with make_async() as client:
            _check_stream(await client.streams.retrieve(f"{CONTRACT}-0"))
            page = await client.streams.list(limit=3)
            assert isinstance(page, AsyncCursorPage) and page.has_next_page()
            second = await page.next_page()
            assert len(second.data) == 3
            assert len([s async for s in page]) == 7
            assert [len(p.data) async for p in page.iter_pages()] == [3, 3, 1]
            events = await client.streams.list_events(f"{CONTRACT}-1", limit=1)
            assert [e.type async for e in events] == ["create_v2", "claim"]
            history = await client.streams.retrieve_history(f"{CONTRACT}-2")
            assert history.stream.status is StreamStatus.CANCELED
            assert (await client.streams.retrieve_yield(f"{CONTRACT}-0")).as_of == NOW
            assert (await client.streams.project_yield(f"{CONTRACT}-0", days=7)).days == 7
            assert (await client.stats.retrieve()).total == 7
            assert (await client.sync_status.retrieve()).contracts[0].contract == CONTRACT
            hits = await client.streams.search(f"{CONTRACT}-3")
            assert [h.stream.stream_id async for h in hits] == [3]
            assert "cancel" in await client.streams.export_csv(SENDER)
            with pytest.raises(NotFoundError):
                await client.streams.retrieve(f"{CONTRACT}-99")

    asyncio.run(main())


def test_auth_and_invoice_links_sync(client: NebulaClient, keypair: Keypair) -> None:
    challenge = client.auth.challenge(keypair.public_key)
    assert challenge.network_passphrase == "Test SDF Network ; September 2015"
    token = client.auth.login(keypair)
    assert client.token == token.token and token.expires_at > datetime.fromtimestamp(NOW, UTC)

    expires = datetime.now(UTC) + timedelta(days=3)
    link = client.invoice_links.create(
        receiver=RECEIVER,
        amount=BIG,
        token_address=ce.TOKEN,
        duration=86_400,
        description="March retainer",
        pdf_url="https://example.com/invoice.pdf",
        expires_at=expires,
    )
    assert link.status is InvoiceLinkStatus.DRAFT and link.amount == BIG
    assert link.sender == keypair.public_key and link.share_url.endswith(link.slug)
    assert link.expires_at is not None and abs(link.expires_at - expires) < timedelta(seconds=1)
    assert client.invoice_links.retrieve(link.slug).id == link.id

    others = [
        client.invoice_links.create(
            receiver=RECEIVER, amount=n + 1, token_address=ce.TOKEN, duration=60
        )
        for n in range(3)
    ]
    page = client.invoice_links.list(limit=2)
    walked = [x.id for x in page]  # 2 + 2 over two pages (the API's clock is frozen: ties)
    assert sorted(walked) == sorted([o.id for o in others] + [link.id]) and len(walked) == 4
    signed = client.invoice_links.update_status(link.id, InvoiceLinkStatus.SIGNED)
    assert signed.status is InvoiceLinkStatus.SIGNED and signed.signed_at is not None
    done = client.invoice_links.update_status(link.id, "COMPLETED", tx_hash="ab" * 32, stream_id=12)
    assert (done.status, done.tx_hash, done.stream_id) == ("COMPLETED", "ab" * 32, 12)
    assert [x.id for x in client.invoice_links.list(status="COMPLETED")] == [link.id]

    client.invoice_links.delete(others[0].id)
    with pytest.raises(NotFoundError):
        client.invoice_links.retrieve(others[0].slug)
    assert len(list(client.invoice_links.list())) == 3


def test_auth_and_invoice_links_async(
    make_async: Callable[..., AsyncNebulaClient], keypair: Keypair
) -> None:
    async def main() -> None:
        async with make_async() as client:
            assert (await client.auth.challenge(keypair.public_key)).transaction
            token = await client.auth.login(keypair)
            assert client.token == token.token
            link = await client.invoice_links.create(
                receiver=RECEIVER, amount=5, token_address=ce.TOKEN, duration=60
            )
            assert (await client.invoice_links.retrieve(link.slug)).amount == 5
            page = await client.invoice_links.list(limit=1)
            assert [x.id async for x in page] == [link.id]
            canceled = await client.invoice_links.update_status(link.id, "CANCELED")
            assert canceled.status is InvoiceLinkStatus.CANCELED
            await client.invoice_links.delete(link.id)
            assert [x async for x in await client.invoice_links.list()] == []

    asyncio.run(main())


def test_idempotent_create_replays_the_same_link(client: NebulaClient, keypair: Keypair) -> None:
    client.auth.login(keypair)
    first = client.invoice_links.create(
        receiver=RECEIVER, amount=7, token_address=ce.TOKEN, duration=60, idempotency_key="inv-1"
    )
    again = client.invoice_links.create(
        receiver=RECEIVER, amount=7, token_address=ce.TOKEN, duration=60, idempotency_key="inv-1"
    )
    assert again.id == first.id


def test_with_options_and_token_handling(client: NebulaClient, keypair: Keypair) -> None:
    token = client.auth.token(
        __import__("nebula_sdk.resources.auth", fromlist=["sign_challenge"]).sign_challenge(
            client.auth.challenge(keypair.public_key), keypair
        )
    )
    assert client.token is None  # token() does not store it; login() does
    authed = client.with_options(token=token.token, max_retries=0)
    assert authed.token == token.token and authed.max_retries == 0
    assert list(authed.invoice_links.list()) == []
    assert token.token not in repr(authed)
