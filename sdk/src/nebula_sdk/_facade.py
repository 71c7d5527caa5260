"""``Nebula``: the seed SDK's static entry point, kept for its users.

It wraps one process-wide :class:`NebulaClient` (the only global state in the SDK, by design of
the seed's API). New code should prefer a :class:`NebulaClient` it owns; ``Nebula.client`` gives
the underlying one.

::

    Nebula.initialize("https://api.example.com", rpc_url=..., contract_id="C...")
    Nebula.login(keypair)                        # SEP-10; the token is stored
    link = Nebula.create_invoice_link(receiver=..., amount=10_000_000_000, ...)
    stream = Nebula.get_stream("C...-42")
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Unpack

import httpx
from stellar_sdk import Keypair

from ._client import NebulaClient
from ._exceptions import NotInitializedError
from ._types import Signer
from .pagination import SyncCursorPage
from .resources.streams import Direction, Sort
from .types.auth_token import AuthToken
from .types.cancel_stream_params import CancelStreamParams
from .types.contract_call_result import ContractCallResult
from .types.create_stream_params import CreateStreamFields, CreateStreamParams
from .types.create_stream_result import CreateStreamResult
from .types.invoice_link import InvoiceLink
from .types.invoice_link_status import InvoiceLinkStatus
from .types.prepared_transaction import PreparedTransaction
from .types.search_hit import SearchHit
from .types.stats import Stats
from .types.stream import Stream
from .types.stream_event import StreamEvent
from .types.stream_history import StreamHistory
from .types.stream_status import StreamStatus
from .types.sync_status import SyncStatus
from .types.top_up_params import TopUpParams
from .types.withdraw_params import WithdrawParams
from .types.withdraw_result import WithdrawResult
from .types.yield_data import YieldData
from .types.yield_projection import YieldProjection

__all__ = ["Nebula"]


class Nebula:
    """Static access to one shared :class:`NebulaClient`; call :meth:`initialize` first."""

    _client: ClassVar[NebulaClient | None] = None

    def __init__(self) -> None:
        raise TypeError("Nebula is used through its class methods: Nebula.initialize(base_url)")

    # --- setup ---

    @classmethod
    def initialize(cls, base_url: str | httpx.URL, **options: Any) -> NebulaClient:
        """Create the shared client (closing any previous one); ``options`` as for
        :class:`NebulaClient` (``token``, ``rpc_url``, ``network``, ``contract_id``, ...)."""
        cls.close()
        cls._client = NebulaClient(base_url, **options)
        return cls._client

    @classmethod
    def client(cls) -> NebulaClient:
        """The shared client; raises :class:`NotInitializedError` before :meth:`initialize`."""
        if cls._client is None:
            raise NotInitializedError(
                "Nebula is not initialized: call Nebula.initialize(base_url) first"
            )
        return cls._client

    @classmethod
    def close(cls) -> None:
        """Close the shared client (``initialize`` may be called again later)."""
        if cls._client is not None:
            cls._client.close()
            cls._client = None

    @classmethod
    def set_auth_token(cls, token: str | None) -> None:
        cls.client().token = token

    @classmethod
    def login(cls, keypair: Keypair) -> str:
        """SEP-10 sign-in; stores the token and returns it. The secret never leaves here."""
        token: AuthToken = cls.client().auth.login(keypair)
        return token.token

    # --- streams: contract calls ---

    @classmethod
    def create_stream(
        cls,
        params: CreateStreamParams | None = None,
        *,
        signer: Signer | None = None,
        source: str | None = None,
        **fields: Unpack[CreateStreamFields],
    ) -> CreateStreamResult | PreparedTransaction:
        """Create a stream on-chain; without ``signer``, the prepared transaction for a wallet."""
        streams = cls.client().streams
        if signer is None:
            return streams.create(params, source=source, **fields)
        return streams.create(params, signer=signer, source=source, **fields)

    @classmethod
    def withdraw_from_stream(
        cls,
        params: WithdrawParams | str | int,
        *,
        signer: Signer | None = None,
        source: str | None = None,
    ) -> WithdrawResult | PreparedTransaction:
        streams = cls.client().streams
        if signer is None:
            return streams.withdraw(params, source=source)
        return streams.withdraw(params, signer=signer, source=source)

    @classmethod
    def cancel_stream(
        cls,
        params: CancelStreamParams | str | int,
        *,
        signer: Signer | None = None,
        source: str | None = None,
    ) -> ContractCallResult | PreparedTransaction:
        streams = cls.client().streams
        if signer is None:
            return streams.cancel(params, source=source)
        return streams.cancel(params, signer=signer, source=source)

    @classmethod
    def top_up_stream(
        cls,
        params: TopUpParams,
        *,
        signer: Signer | None = None,
        source: str | None = None,
    ) -> ContractCallResult | PreparedTransaction:
        streams = cls.client().streams
        if signer is None:
            return streams.top_up(params, source=source)
        return streams.top_up(params, signer=signer, source=source)

    # --- streams: reads ---

    @classmethod
    def get_stream(cls, stream_id: str) -> Stream:
        return cls.client().streams.retrieve(stream_id)

    @classmethod
    def get_streams(
        cls,
        address: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        *,
        sender: str | None = None,
        receiver: str | None = None,
        direction: Direction | None = None,
        status: StreamStatus | str | None = None,
        token: str | None = None,
        contract: str | None = None,
        sort: Sort | None = None,
    ) -> SyncCursorPage[Stream]:
        """Streams by every filter the API has: ``sender``, ``receiver``, ``address`` (sent or
        received, narrowed by ``direction``), ``status``, ``token``, ``contract``; ``sort``.
        Iterate the page to walk all pages."""
        return cls.client().streams.list(
            sender=sender,
            receiver=receiver,
            address=address,
            direction=direction,
            status=status,
            token=token,
            contract=contract,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )

    @classmethod
    def wait_for_stream(
        cls, stream_id: str, *, ledger: int | None = None, timeout: float = 60.0
    ) -> Stream:
        """The stream once the indexer shows it (with ``ledger``: its change in that ledger)."""
        return cls.client().streams.wait_for(stream_id, ledger=ledger, timeout=timeout)

    @classmethod
    def get_stream_history(cls, stream_id: str) -> StreamHistory:
        return cls.client().streams.retrieve_history(stream_id)

    @classmethod
    def get_yield_data(cls, stream_id: str) -> YieldData:
        return cls.client().streams.retrieve_yield(stream_id)

    @classmethod
    def calculate_yield(cls, stream_id: str, days: int) -> YieldProjection:
        """Projected yield of the stream over the next ``days`` days."""
        return cls.client().streams.project_yield(stream_id, days=days)

    @classmethod
    def get_stream_events(
        cls, stream_id: str, limit: int | None = None, cursor: str | None = None
    ) -> SyncCursorPage[StreamEvent]:
        return cls.client().streams.list_events(stream_id, limit=limit, cursor=cursor)

    @classmethod
    def get_stats(cls) -> Stats:
        return cls.client().stats.retrieve()

    @classmethod
    def get_sync_status(cls) -> SyncStatus:
        return cls.client().sync_status.retrieve()

    @classmethod
    def search_streams(
        cls, query: str, limit: int | None = None, cursor: str | None = None
    ) -> SyncCursorPage[SearchHit]:
        return cls.client().streams.search(query, limit=limit, cursor=cursor)

    # --- invoice links ---

    @classmethod
    def create_invoice_link(
        cls,
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
        return cls.client().invoice_links.create(
            receiver=receiver,
            amount=amount,
            token_address=token_address,
            duration=duration,
            description=description,
            pdf_url=pdf_url,
            expires_at=expires_at,
            idempotency_key=idempotency_key,
        )

    @classmethod
    def get_invoice_link(cls, slug: str) -> InvoiceLink:
        return cls.client().invoice_links.retrieve(slug)

    @classmethod
    def list_invoice_links(
        cls,
        status: InvoiceLinkStatus | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> SyncCursorPage[InvoiceLink]:
        return cls.client().invoice_links.list(status=status, limit=limit, cursor=cursor)

    @classmethod
    def update_invoice_link_status(
        cls,
        link_id: str,
        status: InvoiceLinkStatus | str,
        *,
        tx_hash: str | None = None,
        stream_id: int | None = None,
    ) -> InvoiceLink:
        return cls.client().invoice_links.update_status(
            link_id, status, tx_hash=tx_hash, stream_id=stream_id
        )

    @classmethod
    def delete_invoice_link(cls, link_id: str) -> None:
        cls.client().invoice_links.delete(link_id)

    @classmethod
    def pay_invoice_link(
        cls, link: InvoiceLink | str, *, signer: Signer | None = None, source: str | None = None
    ) -> CreateStreamResult | PreparedTransaction:
        return cls.client().invoice_links.pay(link, signer=signer, source=source)
