"""Streams: reads from the API, writes as contract calls on the chain.

Reads (``list``, ``retrieve``, ``list_events``, ``retrieve_history``, ``retrieve_yield``,
``project_yield``, ``search``, ``export_csv``) go to the StellarStream API. Writes (``create``,
``withdraw``, ``cancel``, ``top_up``) are V2 contract calls: simulated on the Stellar RPC node,
signed here (or by your wallet), submitted, and awaited; the indexer then shows their effect.
"""

from __future__ import annotations

import time
from typing import Literal, Unpack, overload

from stellar_sdk import Keypair, scval

from .._constants import API_PREFIX, START_BUFFER_SECONDS
from .._exceptions import NotFoundError, NotIndexedError
from .._resource import AsyncAPIResource, SyncAPIResource
from .._types import AsyncSigner, Signer
from .._utils import check_address, split_stream_id
from ..lib.contract import Landed
from ..lib.invocations import Call, cancel_call, create_stream_call, top_up_call, withdraw_call
from ..pagination import AsyncCursorPage, SyncCursorPage
from ..types.cancel_stream_params import CancelStreamParams
from ..types.contract_call_result import ContractCallResult
from ..types.create_stream_params import CreateStreamFields, CreateStreamParams, contract_names
from ..types.create_stream_result import CreateStreamResult
from ..types.prepared_transaction import PreparedTransaction
from ..types.search_hit import SearchHit
from ..types.stream import Stream
from ..types.stream_event import StreamEvent
from ..types.stream_history import StreamHistory
from ..types.stream_status import StreamStatus
from ..types.top_up_params import TopUpParams
from ..types.withdraw_params import WithdrawParams
from ..types.withdraw_result import WithdrawResult
from ..types.yield_data import YieldData
from ..types.yield_projection import YieldProjection

__all__ = ["AsyncStreams", "Streams"]

Direction = Literal["in", "out", "both"]
Sort = Literal["created_desc", "created_asc", "end_desc", "end_asc", "amount_desc", "amount_asc"]


def _path(stream_id: str) -> str:
    if not isinstance(stream_id, str) or not stream_id or "/" in stream_id:
        raise ValueError(f"stream_id must be a public stream id like 'C...-42', got {stream_id!r}")
    return f"{API_PREFIX}/streams/{stream_id}"


def _list_params(
    sender: str | None,
    receiver: str | None,
    address: str | None,
    direction: Direction | None,
    status: StreamStatus | str | None,
    token: str | None,
    contract: str | None,
    sort: Sort | None,
    limit: int | None,
    cursor: str | None,
) -> dict[str, object]:
    return {
        "sender": sender,
        "receiver": receiver,
        "address": address,
        "direction": direction,
        "status": None if status is None else StreamStatus(status).value,
        "token": token,
        "contract": contract,
        "sort": sort,
        "limit": limit,
        "cursor": cursor,
    }


def _actor(signer: Signer | AsyncSigner | None, source: str | None, given: str | None) -> str:
    """Who acts (sender, caller, beneficiary): given, else the signing account."""
    actor = given or (signer.public_key if isinstance(signer, Keypair) else None) or source
    if actor is None:
        raise ValueError("say who acts: pass a Keypair signer, source=, or the account argument")
    return actor


def _source(signer: Signer | AsyncSigner | None, source: str | None, actor: str) -> str:
    """The transaction's source account: the Keypair's, else ``source``, else the actor."""
    if isinstance(signer, Keypair):
        if source is not None and source != signer.public_key:
            raise ValueError("source must be the Keypair's account (it signs the transaction)")
        return str(signer.public_key)
    return check_address(source or actor, "source", "G")


def _create_params(
    params: CreateStreamParams | None, fields: CreateStreamFields
) -> CreateStreamParams:
    """``params`` with ``fields`` over it (either's names), validated as a whole."""
    if params is None:
        return CreateStreamParams.model_validate(dict(fields))
    if not fields:
        return params
    merged = {**params.model_dump(exclude_unset=True), **contract_names(fields)}
    return CreateStreamParams.model_validate(merged)


def _create_result(call: Call, landed: Landed, start: int, end: int) -> CreateStreamResult:
    if landed.value is None:
        raise ValueError("create_stream landed but returned no stream id")
    on_chain = scval.from_uint64(landed.value)
    return CreateStreamResult(
        function=call.function,
        contract_id=call.contract_id,
        tx_hash=landed.tx_hash,
        ledger=landed.ledger,
        created_at=landed.created_at,
        return_value_xdr=landed.value.to_xdr(),
        stream_id=f"{call.contract_id}-{on_chain}",
        on_chain_id=on_chain,
        start_time=start,
        end_time=end,
    )


def _withdraw_result(call: Call, landed: Landed) -> WithdrawResult:
    amount = 0 if landed.value is None else scval.from_int128(landed.value)
    return WithdrawResult(
        function=call.function,
        contract_id=call.contract_id,
        tx_hash=landed.tx_hash,
        ledger=landed.ledger,
        created_at=landed.created_at,
        return_value_xdr=None if landed.value is None else landed.value.to_xdr(),
        amount=amount,
    )


def _call_result(call: Call, landed: Landed) -> ContractCallResult:
    return ContractCallResult(
        function=call.function,
        contract_id=call.contract_id,
        tx_hash=landed.tx_hash,
        ledger=landed.ledger,
        created_at=landed.created_at,
        return_value_xdr=None if landed.value is None else landed.value.to_xdr(),
    )


def _times(params: CreateStreamParams, ledger_close_time: int | None) -> tuple[int, int, int]:
    if params.start_time is not None:
        start = params.start_time
    else:
        assert ledger_close_time is not None
        start = ledger_close_time + START_BUFFER_SECONDS
    end = params.end_time if params.end_time is not None else start + (params.duration or 0)
    cliff = params.cliff_time if params.cliff_time is not None else start
    return start, cliff, end


def _withdraw_parts(
    stream_id: str | int | WithdrawParams, beneficiary: str | None
) -> tuple[str | int, str | None]:
    if isinstance(stream_id, WithdrawParams):
        return stream_id.stream_id, stream_id.beneficiary or beneficiary
    return stream_id, beneficiary


def _cancel_parts(
    stream_id: str | int | CancelStreamParams, caller: str | None
) -> tuple[str | int, str | None]:
    if isinstance(stream_id, CancelStreamParams):
        return stream_id.stream_id, stream_id.caller or caller
    return stream_id, caller


def _top_up_parts(
    stream_id: str | int | TopUpParams, extra_amount: int | None, sender: str | None
) -> TopUpParams:
    if isinstance(stream_id, TopUpParams):
        return stream_id
    if extra_amount is None:
        raise ValueError("top_up needs extra_amount")
    return TopUpParams(stream_id=stream_id, extra_amount=extra_amount, sender=sender)


def _shown(stream: Stream, ledger: int | None) -> bool:
    return ledger is None or stream.updated_ledger >= ledger


def _not_indexed(stream_id: str, ledger: int | None, timeout: float) -> NotIndexedError:
    at = "" if ledger is None else f" at ledger {ledger} or later"
    return NotIndexedError(
        f"stream {stream_id} not shown by the API{at} after {timeout:g} s: "
        "the indexer is behind or stopped (see sync_status)"
    )


class Streams(SyncAPIResource):
    # --- reads (API) ---

    def list(
        self,
        *,
        sender: str | None = None,
        receiver: str | None = None,
        address: str | None = None,
        direction: Direction | None = None,
        status: StreamStatus | str | None = None,
        token: str | None = None,
        contract: str | None = None,
        sort: Sort | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> SyncCursorPage[Stream]:
        """Streams, filtered, newest first by default; iterate the page to walk all pages.

        ``address`` matches sender or receiver (``direction`` ``in``/``out``/``both``).
        """
        params = _list_params(
            sender, receiver, address, direction, status, token, contract, sort, limit, cursor
        )
        return self._get_api_list(
            f"{API_PREFIX}/streams", model=Stream, page=SyncCursorPage, params=params
        )

    def retrieve(self, stream_id: str) -> Stream:
        """One stream by public id (``"C...-42"``), amounts computed now."""
        return self._get(_path(stream_id), cast_to=Stream)

    def wait_for(
        self, stream_id: str, *, ledger: int | None = None, timeout: float = 60.0
    ) -> Stream:
        """The stream once the API shows it (and, with ``ledger``, its change in that ledger).

        A contract call's result has the ``stream_id`` and ``ledger`` to pass; the indexer
        usually shows them within seconds. Raises :class:`NotIndexedError` after ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                stream = self.retrieve(stream_id)
                if _shown(stream, ledger):
                    return stream
            except NotFoundError:
                pass
            if time.monotonic() >= deadline:
                raise _not_indexed(stream_id, ledger, timeout)
            self._client._sleep(self._client._poll_interval)

    def list_events(
        self, stream_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> SyncCursorPage[StreamEvent]:
        """The stream's contract events in chain order."""
        return self._get_api_list(
            f"{_path(stream_id)}/events",
            model=StreamEvent,
            page=SyncCursorPage,
            params={"limit": limit, "cursor": cursor},
        )

    def retrieve_history(self, stream_id: str) -> StreamHistory:
        """The stream and all its events in one call."""
        return self._get(f"{_path(stream_id)}/history", cast_to=StreamHistory)

    def retrieve_yield(self, stream_id: str) -> YieldData:
        """The stream's yield estimate now."""
        return self._get(f"{_path(stream_id)}/yield", cast_to=YieldData)

    def project_yield(self, stream_id: str, *, days: int) -> YieldProjection:
        """Projected yield over the next ``days`` days (1..3650)."""
        return self._get(
            f"{_path(stream_id)}/yield/projection", cast_to=YieldProjection, params={"days": days}
        )

    def search(
        self, q: str, *, limit: int | None = None, cursor: str | None = None
    ) -> SyncCursorPage[SearchHit]:
        """Find streams by id, tx hash, address (or a 5+ character prefix) or token."""
        return self._get_api_list(
            f"{API_PREFIX}/search",
            model=SearchHit,
            page=SyncCursorPage,
            params={"q": q, "limit": limit, "cursor": cursor},
        )

    def export_csv(self, address: str) -> str:
        """Accounting export: one CSV row per event of the address's streams."""
        check_address(address, "address")
        return self._get(
            f"{API_PREFIX}/streams/export.csv", cast_to=str, params={"address": address}
        )

    # --- writes (contract calls) ---

    @overload
    def create(
        self,
        params: CreateStreamParams | None = None,
        *,
        signer: None = None,
        source: str | None = None,
        contract_id: str | None = None,
        **fields: Unpack[CreateStreamFields],
    ) -> PreparedTransaction: ...
    @overload
    def create(
        self,
        params: CreateStreamParams | None = None,
        *,
        signer: Signer,
        source: str | None = None,
        contract_id: str | None = None,
        **fields: Unpack[CreateStreamFields],
    ) -> CreateStreamResult: ...
    def create(
        self,
        params: CreateStreamParams | None = None,
        *,
        signer: Signer | None = None,
        source: str | None = None,
        contract_id: str | None = None,
        **fields: Unpack[CreateStreamFields],
    ) -> CreateStreamResult | PreparedTransaction:
        """Create a stream on-chain (``create_stream(StreamArgs)``).

        Pass a :class:`CreateStreamParams` or its fields as keywords. With ``duration``, the
        stream starts shortly after the latest ledger's close time. With a ``signer`` this waits
        until the transaction is in a ledger and returns the new stream's id; without one it
        returns the prepared transaction (XDR and SEP-7 URI) for a wallet to sign and submit.
        """
        args = _create_params(params, fields)
        runner = self._client._contract_runner()
        contract = contract_id or self._client._require_contract_id()
        sender = _actor(signer, source, args.sender)
        tx_source = _source(signer, source, sender)
        close_time = None if args.start_time is not None else runner.rpc.latest_ledger().close_time
        start, cliff, end = _times(args, close_time)
        call = create_stream_call(contract, args, sender=sender, start=start, cliff=cliff, end=end)
        prepared = runner.prepare(call, tx_source)
        if signer is None:
            return prepared.unsigned(call, runner.network_passphrase, start=start, end=end)
        landed = runner.submit(runner.sign(prepared, signer))
        return _create_result(call, landed, start, end)

    @overload
    def withdraw(
        self,
        stream_id: str | int | WithdrawParams,
        *,
        beneficiary: str | None = None,
        signer: None = None,
        source: str | None = None,
    ) -> PreparedTransaction: ...
    @overload
    def withdraw(
        self,
        stream_id: str | int | WithdrawParams,
        *,
        beneficiary: str | None = None,
        signer: Signer,
        source: str | None = None,
    ) -> WithdrawResult: ...
    def withdraw(
        self,
        stream_id: str | int | WithdrawParams,
        *,
        beneficiary: str | None = None,
        signer: Signer | None = None,
        source: str | None = None,
    ) -> WithdrawResult | PreparedTransaction:
        """Withdraw everything withdrawable to ``beneficiary`` (default: the signing account)."""
        sid, who = _withdraw_parts(stream_id, beneficiary)
        contract, on_chain = split_stream_id(sid, self._client.contract_id)
        actor = _actor(signer, source, who)
        call = withdraw_call(contract, on_chain, actor)
        runner = self._client._contract_runner()
        prepared = runner.prepare(call, _source(signer, source, actor))
        if signer is None:
            return prepared.unsigned(call, runner.network_passphrase, start=None, end=None)
        return _withdraw_result(call, runner.submit(runner.sign(prepared, signer)))

    @overload
    def cancel(
        self,
        stream_id: str | int | CancelStreamParams,
        *,
        caller: str | None = None,
        signer: None = None,
        source: str | None = None,
    ) -> PreparedTransaction: ...
    @overload
    def cancel(
        self,
        stream_id: str | int | CancelStreamParams,
        *,
        caller: str | None = None,
        signer: Signer,
        source: str | None = None,
    ) -> ContractCallResult: ...
    def cancel(
        self,
        stream_id: str | int | CancelStreamParams,
        *,
        caller: str | None = None,
        signer: Signer | None = None,
        source: str | None = None,
    ) -> ContractCallResult | PreparedTransaction:
        """Cancel: the receiver gets what it earned (plus any penalty), the sender the rest."""
        sid, who = _cancel_parts(stream_id, caller)
        contract, on_chain = split_stream_id(sid, self._client.contract_id)
        actor = _actor(signer, source, who)
        call = cancel_call(contract, on_chain, actor)
        runner = self._client._contract_runner()
        prepared = runner.prepare(call, _source(signer, source, actor))
        if signer is None:
            return prepared.unsigned(call, runner.network_passphrase, start=None, end=None)
        return _call_result(call, runner.submit(runner.sign(prepared, signer)))

    @overload
    def top_up(
        self,
        stream_id: str | int | TopUpParams,
        *,
        extra_amount: int | None = None,
        sender: str | None = None,
        signer: None = None,
        source: str | None = None,
    ) -> PreparedTransaction: ...
    @overload
    def top_up(
        self,
        stream_id: str | int | TopUpParams,
        *,
        extra_amount: int | None = None,
        sender: str | None = None,
        signer: Signer,
        source: str | None = None,
    ) -> ContractCallResult: ...
    def top_up(
        self,
        stream_id: str | int | TopUpParams,
        *,
        extra_amount: int | None = None,
        sender: str | None = None,
        signer: Signer | None = None,
        source: str | None = None,
    ) -> ContractCallResult | PreparedTransaction:
        """Add ``extra_amount`` base units to a stream (the contract extends its end)."""
        params = _top_up_parts(stream_id, extra_amount, sender)
        contract, on_chain = split_stream_id(params.stream_id, self._client.contract_id)
        actor = _actor(signer, source, params.sender)
        call = top_up_call(contract, on_chain, actor, params.extra_amount)
        runner = self._client._contract_runner()
        prepared = runner.prepare(call, _source(signer, source, actor))
        if signer is None:
            return prepared.unsigned(call, runner.network_passphrase, start=None, end=None)
        return _call_result(call, runner.submit(runner.sign(prepared, signer)))


class AsyncStreams(AsyncAPIResource):
    # --- reads (API) ---

    async def list(
        self,
        *,
        sender: str | None = None,
        receiver: str | None = None,
        address: str | None = None,
        direction: Direction | None = None,
        status: StreamStatus | str | None = None,
        token: str | None = None,
        contract: str | None = None,
        sort: Sort | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> AsyncCursorPage[Stream]:
        params = _list_params(
            sender, receiver, address, direction, status, token, contract, sort, limit, cursor
        )
        return await self._get_api_list(
            f"{API_PREFIX}/streams", model=Stream, page=AsyncCursorPage, params=params
        )

    async def retrieve(self, stream_id: str) -> Stream:
        return await self._get(_path(stream_id), cast_to=Stream)

    async def wait_for(
        self, stream_id: str, *, ledger: int | None = None, timeout: float = 60.0
    ) -> Stream:
        """The stream once the API shows it (and, with ``ledger``, its change in that ledger).

        A contract call's result has the ``stream_id`` and ``ledger`` to pass; the indexer
        usually shows them within seconds. Raises :class:`NotIndexedError` after ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                stream = await self.retrieve(stream_id)
                if _shown(stream, ledger):
                    return stream
            except NotFoundError:
                pass
            if time.monotonic() >= deadline:
                raise _not_indexed(stream_id, ledger, timeout)
            await self._client._sleep(self._client._poll_interval)

    async def list_events(
        self, stream_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> AsyncCursorPage[StreamEvent]:
        return await self._get_api_list(
            f"{_path(stream_id)}/events",
            model=StreamEvent,
            page=AsyncCursorPage,
            params={"limit": limit, "cursor": cursor},
        )

    async def retrieve_history(self, stream_id: str) -> StreamHistory:
        return await self._get(f"{_path(stream_id)}/history", cast_to=StreamHistory)

    async def retrieve_yield(self, stream_id: str) -> YieldData:
        return await self._get(f"{_path(stream_id)}/yield", cast_to=YieldData)

    async def project_yield(self, stream_id: str, *, days: int) -> YieldProjection:
        return await self._get(
            f"{_path(stream_id)}/yield/projection", cast_to=YieldProjection, params={"days": days}
        )

    async def search(
        self, q: str, *, limit: int | None = None, cursor: str | None = None
    ) -> AsyncCursorPage[SearchHit]:
        return await self._get_api_list(
            f"{API_PREFIX}/search",
            model=SearchHit,
            page=AsyncCursorPage,
            params={"q": q, "limit": limit, "cursor": cursor},
        )

    async def export_csv(self, address: str) -> str:
        check_address(address, "address")
        return await self._get(
            f"{API_PREFIX}/streams/export.csv", cast_to=str, params={"address": address}
        )

    # --- writes (contract calls) ---

    @overload
    async def create(
        self,
        params: CreateStreamParams | None = None,
        *,
        signer: None = None,
        source: str | None = None,
        contract_id: str | None = None,
        **fields: Unpack[CreateStreamFields],
    ) -> PreparedTransaction: ...
    @overload
    async def create(
        self,
        params: CreateStreamParams | None = None,
        *,
        signer: AsyncSigner,
        source: str | None = None,
        contract_id: str | None = None,
        **fields: Unpack[CreateStreamFields],
    ) -> CreateStreamResult: ...
    async def create(
        self,
        params: CreateStreamParams | None = None,
        *,
        signer: AsyncSigner | None = None,
        source: str | None = None,
        contract_id: str | None = None,
        **fields: Unpack[CreateStreamFields],
    ) -> CreateStreamResult | PreparedTransaction:
        args = _create_params(params, fields)
        runner = self._client._contract_runner()
        contract = contract_id or self._client._require_contract_id()
        sender = _actor(signer, source, args.sender)
        tx_source = _source(signer, source, sender)
        close_time = None
        if args.start_time is None:
            close_time = (await runner.rpc.latest_ledger()).close_time
        start, cliff, end = _times(args, close_time)
        call = create_stream_call(contract, args, sender=sender, start=start, cliff=cliff, end=end)
        prepared = await runner.prepare(call, tx_source)
        if signer is None:
            return prepared.unsigned(call, runner.network_passphrase, start=start, end=end)
        landed = await runner.submit(await runner.sign(prepared, signer))
        return _create_result(call, landed, start, end)

    @overload
    async def withdraw(
        self,
        stream_id: str | int | WithdrawParams,
        *,
        beneficiary: str | None = None,
        signer: None = None,
        source: str | None = None,
    ) -> PreparedTransaction: ...
    @overload
    async def withdraw(
        self,
        stream_id: str | int | WithdrawParams,
        *,
        beneficiary: str | None = None,
        signer: AsyncSigner,
        source: str | None = None,
    ) -> WithdrawResult: ...
    async def withdraw(
        self,
        stream_id: str | int | WithdrawParams,
        *,
        beneficiary: str | None = None,
        signer: AsyncSigner | None = None,
        source: str | None = None,
    ) -> WithdrawResult | PreparedTransaction:
        sid, who = _withdraw_parts(stream_id, beneficiary)
        contract, on_chain = split_stream_id(sid, self._client.contract_id)
        actor = _actor(signer, source, who)
        call = withdraw_call(contract, on_chain, actor)
        runner = self._client._contract_runner()
        prepared = await runner.prepare(call, _source(signer, source, actor))
        if signer is None:
            return prepared.unsigned(call, runner.network_passphrase, start=None, end=None)
        return _withdraw_result(call, await runner.submit(await runner.sign(prepared, signer)))

    @overload
    async def cancel(
        self,
        stream_id: str | int | CancelStreamParams,
        *,
        caller: str | None = None,
        signer: None = None,
        source: str | None = None,
    ) -> PreparedTransaction: ...
    @overload
    async def cancel(
        self,
        stream_id: str | int | CancelStreamParams,
        *,
        caller: str | None = None,
        signer: AsyncSigner,
        source: str | None = None,
    ) -> ContractCallResult: ...
    async def cancel(
        self,
        stream_id: str | int | CancelStreamParams,
        *,
        caller: str | None = None,
        signer: AsyncSigner | None = None,
        source: str | None = None,
    ) -> ContractCallResult | PreparedTransaction:
        sid, who = _cancel_parts(stream_id, caller)
        contract, on_chain = split_stream_id(sid, self._client.contract_id)
        actor = _actor(signer, source, who)
        call = cancel_call(contract, on_chain, actor)
        runner = self._client._contract_runner()
        prepared = await runner.prepare(call, _source(signer, source, actor))
        if signer is None:
            return prepared.unsigned(call, runner.network_passphrase, start=None, end=None)
        return _call_result(call, await runner.submit(await runner.sign(prepared, signer)))

    @overload
    async def top_up(
        self,
        stream_id: str | int | TopUpParams,
        *,
        extra_amount: int | None = None,
        sender: str | None = None,
        signer: None = None,
        source: str | None = None,
    ) -> PreparedTransaction: ...
    @overload
    async def top_up(
        self,
        stream_id: str | int | TopUpParams,
        *,
        extra_amount: int | None = None,
        sender: str | None = None,
        signer: AsyncSigner,
        source: str | None = None,
    ) -> ContractCallResult: ...
    async def top_up(
        self,
        stream_id: str | int | TopUpParams,
        *,
        extra_amount: int | None = None,
        sender: str | None = None,
        signer: AsyncSigner | None = None,
        source: str | None = None,
    ) -> ContractCallResult | PreparedTransaction:
        params = _top_up_parts(stream_id, extra_amount, sender)
        contract, on_chain = split_stream_id(params.stream_id, self._client.contract_id)
        actor = _actor(signer, source, params.sender)
        call = top_up_call(contract, on_chain, actor, params.extra_amount)
        runner = self._client._contract_runner()
        prepared = await runner.prepare(call, _source(signer, source, actor))
        if signer is None:
            return prepared.unsigned(call, runner.network_passphrase, start=None, end=None)
        return _call_result(call, await runner.submit(await runner.sign(prepared, signer)))
