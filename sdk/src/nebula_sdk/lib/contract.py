"""Run a contract call: simulate and prepare, sign (Keypair or wallet), submit, wait.

Without a signer the prepared, unsigned transaction is returned (XDR and SEP-7 URI) for a wallet
to sign and submit. A :class:`~stellar_sdk.Keypair`'s secret never leaves this process: only the
signed envelope is sent, to the RPC node.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from stellar_sdk import Keypair, TransactionEnvelope
from stellar_sdk import xdr as stellar_xdr

from .._exceptions import RPCError, TransactionFailedError
from .._types import AsyncSigner, Signer
from ..types.prepared_transaction import PreparedTransaction
from .invocations import (
    Call,
    assemble,
    build_transaction,
    sep7_uri,
    sign_address_auth,
    verify_wallet_signature,
)
from .results import failure, return_value, simulated_return
from .rpc import AsyncSorobanRpc, SorobanRpc

__all__ = ["AsyncContractRunner", "ContractRunner", "Landed"]

TRY_AGAIN_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Landed:
    """A transaction that succeeded in a ledger."""

    tx_hash: str
    ledger: int
    created_at: int | None
    value: stellar_xdr.SCVal | None


@dataclass(frozen=True, slots=True)
class Prepared:
    envelope: TransactionEnvelope
    simulation: dict[str, Any]
    source: str

    @property
    def latest_ledger(self) -> int:
        return int(self.simulation.get("latestLedger") or 0)

    def unsigned(
        self, call: Call, network_passphrase: str, *, start: int | None, end: int | None
    ) -> PreparedTransaction:
        xdr = str(self.envelope.to_xdr())
        return PreparedTransaction(
            function=call.function,
            contract_id=call.contract_id,
            source=self.source,
            xdr=xdr,
            sep7_uri=sep7_uri(
                self.envelope,
                network_passphrase,
                self.source,
                f"StellarStream: {call.function.replace('_', ' ')}",
            ),
            network_passphrase=network_passphrase,
            tx_hash=self.envelope.hash_hex(),
            fee=self.envelope.transaction.fee,
            min_resource_fee=int(self.simulation.get("minResourceFee") or 0),
            simulated_return_xdr=simulated_return(self.simulation),
            start_time=start,
            end_time=end,
        )


def _landed(got: dict[str, Any], tx_hash: str) -> Landed:
    created = got.get("createdAt")
    return Landed(
        tx_hash=tx_hash,
        ledger=int(got.get("ledger") or 0),
        created_at=int(created) if created is not None else None,
        value=return_value(got),
    )


def _rejected(sent: dict[str, Any], tx_hash: str) -> TransactionFailedError:
    return failure(
        sent.get("errorResultXdr"),
        tx_hash=tx_hash,
        ledger=None,
        what="the network rejected the transaction",
    )


def _failed(got: dict[str, Any], tx_hash: str) -> TransactionFailedError:
    return failure(
        got.get("resultXdr"),
        tx_hash=tx_hash,
        ledger=got.get("ledger"),
        what=f"transaction {tx_hash} failed in ledger {got.get('ledger')}",
    )


def _not_final(tx_hash: str, attempts: int) -> TransactionFailedError:
    return TransactionFailedError(
        f"transaction {tx_hash} was not in a ledger after {attempts} polls; it may still land: "
        "look it up by hash before retrying",
        tx_hash=tx_hash,
        transaction_code=None,
    )


class ContractRunner:
    """Blocking contract calls through :class:`SorobanRpc`."""

    def __init__(
        self,
        rpc: SorobanRpc,
        *,
        network_passphrase: str,
        base_fee: int,
        sleep: Callable[[float], None],
        poll_interval: float,
        poll_attempts: int,
    ) -> None:
        self.rpc = rpc
        self.network_passphrase = network_passphrase
        self.base_fee = base_fee
        self._sleep = sleep
        self.poll_interval = poll_interval
        self.poll_attempts = poll_attempts

    def prepare(self, call: Call, source: str) -> Prepared:
        sequence = self.rpc.account_sequence(source)
        envelope = build_transaction(
            call,
            source=source,
            sequence=sequence,
            network_passphrase=self.network_passphrase,
            base_fee=self.base_fee,
        )
        simulation = self.rpc.simulate(str(envelope.to_xdr()))
        return Prepared(assemble(envelope, simulation), simulation, source)

    def sign(self, prepared: Prepared, signer: Signer) -> TransactionEnvelope:
        envelope = prepared.envelope
        keypair = signer if isinstance(signer, Keypair) else None
        sign_address_auth(
            envelope,
            keypair,
            latest_ledger=prepared.latest_ledger,
            network_passphrase=self.network_passphrase,
        )
        if keypair is not None:
            envelope.sign(keypair)
            return envelope
        assert not isinstance(signer, Keypair)
        signed_xdr = signer(str(envelope.to_xdr()), self.network_passphrase)
        return verify_wallet_signature(envelope, signed_xdr, self.network_passphrase)

    def submit(self, signed: TransactionEnvelope) -> Landed:
        tx_hash = signed.hash_hex()
        for _ in range(TRY_AGAIN_ATTEMPTS):
            sent = self.rpc.send(str(signed.to_xdr()))
            status = sent.get("status")
            if status in ("PENDING", "DUPLICATE"):
                break
            if status == "TRY_AGAIN_LATER":
                self._sleep(self.poll_interval)
                continue
            if status == "ERROR":
                raise _rejected(sent, tx_hash)
            raise RPCError(f"sendTransaction: unexpected status {status!r}")
        else:
            raise TransactionFailedError(
                f"the node kept answering TRY_AGAIN_LATER for {tx_hash}",
                tx_hash=tx_hash,
                transaction_code="TRY_AGAIN_LATER",
            )
        for _ in range(self.poll_attempts):
            got = self.rpc.get_transaction(tx_hash)
            if got.get("status") == "SUCCESS":
                return _landed(got, tx_hash)
            if got.get("status") == "FAILED":
                raise _failed(got, tx_hash)
            self._sleep(self.poll_interval)
        raise _not_final(tx_hash, self.poll_attempts)


class AsyncContractRunner:
    """The async twin of :class:`ContractRunner` (wallet callbacks may be sync or async)."""

    def __init__(
        self,
        rpc: AsyncSorobanRpc,
        *,
        network_passphrase: str,
        base_fee: int,
        sleep: Callable[[float], Awaitable[None]],
        poll_interval: float,
        poll_attempts: int,
    ) -> None:
        self.rpc = rpc
        self.network_passphrase = network_passphrase
        self.base_fee = base_fee
        self._sleep = sleep
        self.poll_interval = poll_interval
        self.poll_attempts = poll_attempts

    async def prepare(self, call: Call, source: str) -> Prepared:
        sequence = await self.rpc.account_sequence(source)
        envelope = build_transaction(
            call,
            source=source,
            sequence=sequence,
            network_passphrase=self.network_passphrase,
            base_fee=self.base_fee,
        )
        simulation = await self.rpc.simulate(str(envelope.to_xdr()))
        return Prepared(assemble(envelope, simulation), simulation, source)

    async def sign(self, prepared: Prepared, signer: AsyncSigner) -> TransactionEnvelope:
        envelope = prepared.envelope
        keypair = signer if isinstance(signer, Keypair) else None
        sign_address_auth(
            envelope,
            keypair,
            latest_ledger=prepared.latest_ledger,
            network_passphrase=self.network_passphrase,
        )
        if keypair is not None:
            envelope.sign(keypair)
            return envelope
        assert not isinstance(signer, Keypair)
        answer = signer(str(envelope.to_xdr()), self.network_passphrase)
        signed_xdr = await answer if inspect.isawaitable(answer) else answer
        assert isinstance(signed_xdr, str)
        return verify_wallet_signature(envelope, signed_xdr, self.network_passphrase)

    async def submit(self, signed: TransactionEnvelope) -> Landed:
        tx_hash = signed.hash_hex()
        for _ in range(TRY_AGAIN_ATTEMPTS):
            sent = await self.rpc.send(str(signed.to_xdr()))
            status = sent.get("status")
            if status in ("PENDING", "DUPLICATE"):
                break
            if status == "TRY_AGAIN_LATER":
                await self._sleep(self.poll_interval)
                continue
            if status == "ERROR":
                raise _rejected(sent, tx_hash)
            raise RPCError(f"sendTransaction: unexpected status {status!r}")
        else:
            raise TransactionFailedError(
                f"the node kept answering TRY_AGAIN_LATER for {tx_hash}",
                tx_hash=tx_hash,
                transaction_code="TRY_AGAIN_LATER",
            )
        for _ in range(self.poll_attempts):
            got = await self.rpc.get_transaction(tx_hash)
            if got.get("status") == "SUCCESS":
                return _landed(got, tx_hash)
            if got.get("status") == "FAILED":
                raise _failed(got, tx_hash)
            await self._sleep(self.poll_interval)
        raise _not_final(tx_hash, self.poll_attempts)
