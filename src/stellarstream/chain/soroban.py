"""Preparing a Soroban transaction over Stellar RPC: the payer's account, simulation, assembly.

:class:`SorobanRpc` adds to :class:`~stellarstream.chain.rpc.RpcClient` (same retries and errors)
the two calls a transaction request needs:

* ``getLedgerEntries`` of the payer's ``ACCOUNT`` entry for its sequence number. The RPC, not
  Horizon: one upstream for the whole preparation (the simulation needs the RPC anyway), and the
  sequence comes from the same ledger state the simulation runs against.
* ``simulateTransaction`` for the footprint, the resource fee and the recorded authorizations.
* ``sendTransaction`` and ``getTransaction`` for a payer's signed envelope (:class:`Sent`,
  :class:`Landed`).

:func:`assemble` applies a simulation to the transaction exactly as stellar-sdk's
``SorobanServer.prepare_transaction`` does (fee += ``minResourceFee``, ``sorobanData`` from
``transactionData``, the recorded auth entries when the operation has none).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from stellar_sdk import Account, Keypair, TransactionEnvelope
from stellar_sdk import xdr as x
from stellar_sdk.operation import InvokeHostFunction

from stellarstream.chain.rpc import RpcClient
from stellarstream.errors import MalformedResponse, StellarStreamError


class AccountNotFound(StellarStreamError):
    """The account has no ledger entry: it was never funded (or was merged)."""

    code = "account_not_found"
    status_code = 422


class SimulationFailed(StellarStreamError):
    """The node simulated the call and it failed (the contract or host rejected it);
    ``error`` is the node's whole error text (the message keeps only its first line)."""

    code = "simulation_failed"
    status_code = 502

    def __init__(self, message: str, *, error: str = "") -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True, slots=True)
class Simulation:
    """The parts of a ``simulateTransaction`` answer that preparation uses."""

    latest_ledger: int
    error: str | None
    transaction_data: str | None
    min_resource_fee: int | None
    auth: list[str]
    result_xdr: str | None
    restore_needed: bool


@dataclass(frozen=True, slots=True)
class Sent:
    """A ``sendTransaction`` answer: PENDING, DUPLICATE, TRY_AGAIN_LATER or ERROR (with the
    ``TransactionResult`` XDR saying why)."""

    status: str
    tx_hash: str
    error_result_xdr: str | None


@dataclass(frozen=True, slots=True)
class Landed:
    """A ``getTransaction`` answer: SUCCESS, FAILED or NOT_FOUND (not in the node's window yet,
    or never)."""

    status: str
    envelope_xdr: str | None
    result_xdr: str | None
    ledger: int | None


def account_key(account_id: str) -> x.LedgerKey:
    """The ``LedgerKey`` of a G... account's entry."""
    return x.LedgerKey(
        x.LedgerEntryType.ACCOUNT,
        account=x.LedgerKeyAccount(account_id=Keypair.from_public_key(account_id).xdr_account_id()),
    )


class SorobanRpc(RpcClient):
    """An :class:`RpcClient` that can also load accounts and simulate transactions."""

    def __enter__(self) -> SorobanRpc:
        return self

    def get_account(self, account_id: str) -> Account:
        """The account with its current sequence number, from ``getLedgerEntries``."""
        key = account_key(account_id).to_xdr()
        result = self._call(
            "getLedgerEntries", {"keys": [key]}, lambda r: _parse_account(r, account_id)
        )
        if result is None:
            raise AccountNotFound(
                f"account {account_id} does not exist on the network: fund it first",
                field="payer",
            )
        return result

    def simulate(self, envelope: TransactionEnvelope) -> Simulation:
        return self._call(
            "simulateTransaction", {"transaction": envelope.to_xdr()}, _parse_simulation
        )

    def send(self, envelope: TransactionEnvelope) -> Sent:
        """``sendTransaction``: safe to repeat (the same envelope again answers DUPLICATE)."""
        return self._call("sendTransaction", {"transaction": envelope.to_xdr()}, _parse_sent)

    def transaction(self, tx_hash: str) -> Landed:
        """``getTransaction`` of ``tx_hash`` (hex)."""
        return self._call("getTransaction", {"hash": tx_hash}, _parse_landed)

    def prepare(self, envelope: TransactionEnvelope) -> TransactionEnvelope:
        """Simulate ``envelope`` and return a copy ready to sign, or raise
        :class:`SimulationFailed` saying why the node refused it."""
        simulation = self.simulate(envelope)
        if simulation.error:
            first_line = simulation.error.strip().splitlines()[0] if simulation.error else ""
            raise SimulationFailed(
                f"the transaction would fail on chain: {first_line}", error=simulation.error
            )
        if simulation.restore_needed:
            raise SimulationFailed(
                "the contract's state is archived and must be restored before paying"
            )
        return assemble(envelope, simulation)


def assemble(envelope: TransactionEnvelope, simulation: Simulation) -> TransactionEnvelope:
    """A copy of ``envelope`` with the simulation's footprint, resource fee and auth applied."""
    if simulation.transaction_data is None or simulation.min_resource_fee is None:
        raise MalformedResponse("simulateTransaction answered without transactionData")
    prepared = copy.deepcopy(envelope)
    prepared.signatures = []
    tx = prepared.transaction
    if tx.soroban_data is not None:
        tx.fee -= tx.soroban_data.resource_fee.int64
    tx.fee += simulation.min_resource_fee
    tx.soroban_data = x.SorobanTransactionData.from_xdr(simulation.transaction_data)
    operation = tx.operations[0]
    if isinstance(operation, InvokeHostFunction) and not operation.auth:
        operation.auth = [x.SorobanAuthorizationEntry.from_xdr(a) for a in simulation.auth]
    return prepared


def _parse_account(result: Any, account_id: str) -> Account | None:
    if not isinstance(result, dict) or not isinstance(result.get("entries") or [], list):
        raise MalformedResponse("getLedgerEntries: result has no entries list")
    entries = result.get("entries") or []
    if not entries:
        return None
    try:
        data = x.LedgerEntryData.from_xdr(entries[0]["xdr"])
    except Exception as exc:  # XDR decoding raises assorted errors
        raise MalformedResponse(f"getLedgerEntries: entry is not LedgerEntryData: {exc}") from exc
    if data.account is None:
        raise MalformedResponse("getLedgerEntries: the entry is not an account")
    return Account(account_id, data.account.seq_num.sequence_number.int64)


def _parse_simulation(result: Any) -> Simulation:
    if not isinstance(result, dict) or not isinstance(result.get("latestLedger"), int):
        raise MalformedResponse("simulateTransaction: result has no latestLedger")
    results = result.get("results") or []
    first = results[0] if results and isinstance(results[0], dict) else {}
    fee = result.get("minResourceFee")
    try:
        min_fee = int(fee) if fee is not None else None
    except (TypeError, ValueError) as exc:
        raise MalformedResponse(f"simulateTransaction: minResourceFee {fee!r}") from exc
    auth = first.get("auth") or []
    if not isinstance(auth, list) or not all(isinstance(a, str) for a in auth):
        raise MalformedResponse("simulateTransaction: results[0].auth is not a list of XDR")
    error = result.get("error")
    return Simulation(
        latest_ledger=result["latestLedger"],
        error=str(error) if error else None,
        transaction_data=result.get("transactionData"),
        min_resource_fee=min_fee,
        auth=list(auth),
        result_xdr=first.get("xdr"),
        restore_needed=bool(result.get("restorePreamble")),
    )


SEND_STATUSES = frozenset({"PENDING", "DUPLICATE", "TRY_AGAIN_LATER", "ERROR"})
LANDED_STATUSES = frozenset({"SUCCESS", "FAILED", "NOT_FOUND"})


def _parse_sent(result: Any) -> Sent:
    if not isinstance(result, dict) or result.get("status") not in SEND_STATUSES:
        raise MalformedResponse("sendTransaction: result has no known status")
    error = result.get("errorResultXdr")
    return Sent(
        status=result["status"],
        tx_hash=str(result.get("hash") or ""),
        error_result_xdr=error if isinstance(error, str) else None,
    )


def _parse_landed(result: Any) -> Landed:
    if not isinstance(result, dict) or result.get("status") not in LANDED_STATUSES:
        raise MalformedResponse("getTransaction: result has no known status")
    ledger = result.get("ledger")
    return Landed(
        status=result["status"],
        envelope_xdr=result.get("envelopeXdr")
        if isinstance(result.get("envelopeXdr"), str)
        else None,
        result_xdr=result.get("resultXdr") if isinstance(result.get("resultXdr"), str) else None,
        ledger=ledger if isinstance(ledger, int) else None,
    )
