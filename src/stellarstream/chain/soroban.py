"""Contract calls over Stellar RPC: the payer's account, simulation, assembly, sending.

:class:`ContractRpc` adds to :class:`~stellarstream.chain.rpc.RpcClient` (same retries and
errors) the calls a transaction request needs; :func:`contract_rpc` is the one way the services
open it:

* ``getLedgerEntries`` of the payer's ``ACCOUNT`` entry for its sequence number. The RPC, not
  Horizon: one upstream for the whole preparation (the simulation needs the RPC anyway), and the
  sequence comes from the same ledger state the simulation runs against.
* ``simulateTransaction`` for the footprint, the resource fee and the recorded authorizations.
* ``sendTransaction`` and ``getTransaction`` for a payer's signed envelope (:class:`Sent`,
  :class:`Landed`).

:func:`assemble` applies a parsed simulation with the SDK's
:func:`~nebula_sdk.lib.invocations.apply_simulation`, exactly as stellar-sdk's
``SorobanServer.prepare_transaction`` does (a prior resource fee replaced by ``minResourceFee``,
``sorobanData`` from ``transactionData``, the recorded auth entries when the operation has none).
The SDK has its own client, ``nebula_sdk.lib.rpc.SorobanRpc`` (the SDK's HTTP stack and errors);
both build and assemble through ``nebula_sdk.lib.invocations``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stellar_sdk import Account, Keypair, TransactionEnvelope
from stellar_sdk import xdr as x

from nebula_sdk.lib.invocations import apply_simulation
from stellarstream.chain.rpc import RpcClient
from stellarstream.config import Settings
from stellarstream.errors import AccountNotFound, MalformedResponse, SimulationFailed

INTERACTIVE_RETRIES = 2
"""A person is waiting: retry a flaky RPC briefly, then answer 503."""


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


class ContractRpc(RpcClient):
    """An :class:`RpcClient` that can also load accounts, simulate, send and look up
    transactions."""

    def __enter__(self) -> ContractRpc:
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
        """``simulateTransaction`` of ``envelope``, parsed."""
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


def contract_rpc(
    settings: Settings, *, timeout: float | None = None, max_retries: int | None = None
) -> ContractRpc:
    """A :class:`ContractRpc` of ``settings.rpc_url``. By default for a person waiting: the
    configured timeout, at most :data:`INTERACTIVE_RETRIES` retries with short backoff."""
    if max_retries is None:
        max_retries = min(settings.rpc_max_retries, INTERACTIVE_RETRIES)
    return ContractRpc(
        settings.rpc_url,
        timeout=settings.rpc_timeout_seconds if timeout is None else timeout,
        max_retries=max_retries,
        backoff_initial=0.2,
        backoff_max=1.0,
    )


def assemble(envelope: TransactionEnvelope, simulation: Simulation) -> TransactionEnvelope:
    """A copy of ``envelope`` with the simulation's footprint, resource fee and auth applied."""
    if simulation.transaction_data is None or simulation.min_resource_fee is None:
        raise MalformedResponse("simulateTransaction answered without transactionData")
    return apply_simulation(
        envelope,
        transaction_data=simulation.transaction_data,
        min_resource_fee=simulation.min_resource_fee,
        auth=simulation.auth,
    )


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
