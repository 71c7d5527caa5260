"""Invoice links: create, read, list, move along the lifecycle, delete; and pay one on-chain."""

from __future__ import annotations

from datetime import datetime

from stellar_sdk import MuxedAccount

from .._constants import API_PREFIX
from .._resource import AsyncAPIResource, SyncAPIResource
from .._types import AsyncSigner, Signer
from ..pagination import AsyncCursorPage, SyncCursorPage
from ..types.create_stream_params import CreateStreamParams
from ..types.create_stream_result import CreateStreamResult
from ..types.invoice_link import InvoiceLink
from ..types.invoice_link_status import InvoiceLinkStatus
from ..types.prepared_transaction import PreparedTransaction

__all__ = ["AsyncInvoiceLinks", "InvoiceLinks"]

_BASE = f"{API_PREFIX}/invoice-links"


def _segment(value: str, name: str) -> str:
    if not isinstance(value, str) or not value or "/" in value:
        raise ValueError(f"{name} must be a non-empty string without '/', got {value!r}")
    return value


def _create_body(
    receiver: str,
    amount: int,
    token_address: str,
    duration: int,
    description: str | None,
    pdf_url: str | None,
    expires_at: datetime | None,
) -> dict[str, object]:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("amount is an int of token base units")
    if expires_at is not None and expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware (e.g. datetime.now(UTC))")
    body: dict[str, object] = {
        "receiver": receiver,
        "amount": str(amount),
        "tokenAddress": token_address,
        "duration": duration,
    }
    if description is not None:
        body["description"] = description
    if pdf_url is not None:
        body["pdfUrl"] = pdf_url
    if expires_at is not None:
        body["expiresAt"] = expires_at.isoformat()
    return body


def _status_body(
    status: InvoiceLinkStatus | str, tx_hash: str | None, stream_id: int | None
) -> dict[str, object]:
    body: dict[str, object] = {"status": InvoiceLinkStatus(status).value}
    if tx_hash is not None:
        body["txHash"] = tx_hash
    if stream_id is not None:
        body["streamId"] = stream_id
    return body


def payment_params(link: InvoiceLink) -> CreateStreamParams:
    """The ``create_stream`` arguments that pay ``link`` (``memo`` = its slug).

    The indexer completes the link when a stream with this memo pays its receiver (a muxed
    ``M...`` receiver is paid at its base account), in its token, its amount, over its duration.
    """
    receiver = link.receiver
    if receiver.startswith("M"):
        receiver = str(MuxedAccount.from_account(receiver).account_id)
    return CreateStreamParams(
        receiver=receiver,
        token=link.token_address,
        total_amount=link.amount,
        duration=link.duration,
        memo=link.slug,
    )


class InvoiceLinks(SyncAPIResource):
    def create(
        self,
        *,
        receiver: str,
        amount: int,
        token_address: str,
        duration: int,
        description: str | None = None,
        pdf_url: str | None = None,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> InvoiceLink:
        """Create a DRAFT link issued by the signed-in account.

        Retries reuse one ``Idempotency-Key`` (generated unless you pass one), so a retried
        create never makes two links.
        """
        body = _create_body(
            receiver, amount, token_address, duration, description, pdf_url, expires_at
        )
        return self._post(_BASE, cast_to=InvoiceLink, body=body, idempotency_key=idempotency_key)

    def retrieve(self, slug: str) -> InvoiceLink:
        """A link by its slug (public: no token needed)."""
        return self._get(f"{_BASE}/{_segment(slug, 'slug')}", cast_to=InvoiceLink)

    def list(
        self,
        *,
        status: InvoiceLinkStatus | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> SyncCursorPage[InvoiceLink]:
        """The signed-in account's links, newest first."""
        params = {
            "status": None if status is None else InvoiceLinkStatus(status).value,
            "limit": limit,
            "cursor": cursor,
        }
        return self._get_api_list(_BASE, model=InvoiceLink, page=SyncCursorPage, params=params)

    def update_status(
        self,
        link_id: str,
        status: InvoiceLinkStatus | str,
        *,
        tx_hash: str | None = None,
        stream_id: int | None = None,
    ) -> InvoiceLink:
        """Move a link along its lifecycle (a forbidden move raises ``ConflictError``)."""
        return self._patch(
            f"{_BASE}/{_segment(link_id, 'link_id')}/status",
            cast_to=InvoiceLink,
            body=_status_body(status, tx_hash, stream_id),
        )

    def delete(self, link_id: str) -> None:
        """Delete a DRAFT, EXPIRED or CANCELED link."""
        self._delete(f"{_BASE}/{_segment(link_id, 'link_id')}", cast_to=type(None))

    def pay(
        self,
        link: InvoiceLink | str,
        *,
        signer: Signer | None = None,
        source: str | None = None,
    ) -> CreateStreamResult | PreparedTransaction:
        """Pay a link (or a slug) with a stream: ``create_stream`` with ``memo`` = slug."""
        if isinstance(link, str):
            link = self.retrieve(link)
        params = payment_params(link)
        if signer is None:
            return self._client.streams.create(params, source=source)
        return self._client.streams.create(params, signer=signer, source=source)


class AsyncInvoiceLinks(AsyncAPIResource):
    async def create(
        self,
        *,
        receiver: str,
        amount: int,
        token_address: str,
        duration: int,
        description: str | None = None,
        pdf_url: str | None = None,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> InvoiceLink:
        body = _create_body(
            receiver, amount, token_address, duration, description, pdf_url, expires_at
        )
        return await self._post(
            _BASE, cast_to=InvoiceLink, body=body, idempotency_key=idempotency_key
        )

    async def retrieve(self, slug: str) -> InvoiceLink:
        return await self._get(f"{_BASE}/{_segment(slug, 'slug')}", cast_to=InvoiceLink)

    async def list(
        self,
        *,
        status: InvoiceLinkStatus | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> AsyncCursorPage[InvoiceLink]:
        params = {
            "status": None if status is None else InvoiceLinkStatus(status).value,
            "limit": limit,
            "cursor": cursor,
        }
        return await self._get_api_list(
            _BASE, model=InvoiceLink, page=AsyncCursorPage, params=params
        )

    async def update_status(
        self,
        link_id: str,
        status: InvoiceLinkStatus | str,
        *,
        tx_hash: str | None = None,
        stream_id: int | None = None,
    ) -> InvoiceLink:
        return await self._patch(
            f"{_BASE}/{_segment(link_id, 'link_id')}/status",
            cast_to=InvoiceLink,
            body=_status_body(status, tx_hash, stream_id),
        )

    async def delete(self, link_id: str) -> None:
        await self._delete(f"{_BASE}/{_segment(link_id, 'link_id')}", cast_to=type(None))

    async def pay(
        self,
        link: InvoiceLink | str,
        *,
        signer: AsyncSigner | None = None,
        source: str | None = None,
    ) -> CreateStreamResult | PreparedTransaction:
        if isinstance(link, str):
            link = await self.retrieve(link)
        params = payment_params(link)
        if signer is None:
            return await self._client.streams.create(params, source=source)
        return await self._client.streams.create(params, signer=signer, source=source)
