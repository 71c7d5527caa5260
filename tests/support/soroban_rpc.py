"""The one fake Soroban RPC node of the tests: the fake Stellar RPC plus ``getLedgerEntries``
(accounts), ``simulateTransaction``, ``sendTransaction`` and ``getTransaction``.

Its contract calls are answered two ways:

* by a small in-memory StellarStream V2 contract at ``contract_id`` (``create_stream``,
  ``withdraw``, ``cancel``, ``top_up``): the SDK's and the wallet's tests run real calls on it;
* for the contracts in :attr:`SorobanState.contracts`, as a node prepares a payer's
  ``create_stream`` (the invoice payment tests): a plausible footprint (contract instance and
  code, token instance, payer and contract balances, the new stream entry), the source-account
  auth of the call and its token transfer, the new stream id as return value; sent, it lands
  without running anything (``compact``: a minimal footprint and auth, for a QR-sized URI).

Responses follow the recorded shapes in ``tests/fixtures/stellar/rpc`` (the success
``getTransaction`` meta and result are the recorded ones with our return value and events put in;
the ERROR ``sendTransaction`` answer is the recorded txBAD_SEQ one). A landed call closes a ledger
and adds the spec-shaped contract events to the :class:`Chain`, so tests can ingest them into the
backend and read the result through the API.

Usage::

    chain = Chain(latest_ledger=100)
    with running_soroban_rpc(chain, accounts={kp.public_key: 7}) as (url, node):
        ...  # SDK calls
        envelope = node.submitted[-1]            # decoded TransactionEnvelope
        node.simulation_errors.append(contract_error(3))
    with running_soroban_rpc(state=SorobanState(contracts={ce.V2_CONTRACT})) as (url, node):
        ...  # invoice payments

:func:`wallet_pays` is a wallet that sends a signed envelope itself and waits for its result.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from stellar_sdk import Address, Keypair, SorobanDataBuilder, TransactionEnvelope, scval
from stellar_sdk import xdr as x
from stellar_sdk.exceptions import BadSignatureError
from stellar_sdk.operation import InvokeHostFunction

from nebula_sdk.lib.invocations import CREATE_STREAM, STREAM_ARGS_KEYS
from tests.support import contract_events as ce
from tests.support.server import serve
from tests.support.stellar_rpc import Chain, FakeStellarRpc, RpcFault, recorded_method_result

__all__ = [
    "MIN_RESOURCE_FEE",
    "STREAM_ARGS_TYPES",
    "FakeSorobanRpc",
    "SorobanState",
    "account_entry_xdr",
    "contract_error",
    "rpc_call",
    "running_soroban_rpc",
    "tx_result",
    "wallet_pays",
]

INVALID_PARAMS = -32602
MIN_RESOURCE_FEE = 90_353
"""As in the recorded successful simulation."""

STREAM_ARGS_TYPES: dict[str, tuple[x.SCValType, ...]] = {
    "affiliate": (x.SCValType.SCV_ADDRESS, x.SCValType.SCV_VOID),
    "cancellation_type": (x.SCValType.SCV_U32,),
    "cliff_time": (x.SCValType.SCV_U64,),
    "curve_type": (x.SCValType.SCV_U32,),
    "cycle_duration": (x.SCValType.SCV_U64,),
    "end_time": (x.SCValType.SCV_U64,),
    "is_recurrent": (x.SCValType.SCV_BOOL,),
    "memo": (x.SCValType.SCV_SYMBOL, x.SCValType.SCV_VOID),
    "multiplier_bps": (x.SCValType.SCV_I128,),
    "penalty_bps": (x.SCValType.SCV_U32,),
    "receiver": (x.SCValType.SCV_ADDRESS,),
    "sender": (x.SCValType.SCV_ADDRESS,),
    "split_address": (x.SCValType.SCV_ADDRESS, x.SCValType.SCV_VOID),
    "split_bps": (x.SCValType.SCV_U32,),
    "start_time": (x.SCValType.SCV_U64,),
    "step_duration": (x.SCValType.SCV_I128,),
    "token": (x.SCValType.SCV_ADDRESS,),
    "total_amount": (x.SCValType.SCV_I128,),
    "vault_address": (x.SCValType.SCV_ADDRESS, x.SCValType.SCV_VOID),
    "yield_enabled": (x.SCValType.SCV_BOOL,),
    "yield_recipient": (x.SCValType.SCV_U32,),
}
"""The V2 ``StreamArgs`` struct (spec section 3): every key and its allowed SCVal types."""

# Contract error numbers of this fake contract (what ``Error(Contract, #N)`` carries).
E_INVALID_ARGS, E_NOT_FOUND, E_UNAUTHORIZED, E_CANCELED = 1, 2, 3, 4


def contract_error(number: int) -> str:
    """A simulation ``error`` text as stellar-rpc renders a contract's ``panic_with_error!``."""
    return (
        "host invocation failed\n\nCaused by:\n"
        f"    HostError: Error(Contract, #{number})\n    \n"
        "    Event log (newest first):\n"
        f"       0: [Diagnostic Event] topics:[error, Error(Contract, #{number})]\n"
    )


class ContractFailure(Exception):
    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


@dataclass
class FakeStream:
    sender: str
    receiver: str
    token: str
    total: int
    start: int
    cliff: int
    end: int
    withdrawn: int = 0
    canceled: bool = False


@dataclass
class Outcome:
    """What a call does: its return value, who must authorize it, and its events."""

    value: x.SCVal
    auth_address: str
    events: list[ce.Encoded]


@dataclass
class SorobanState:
    """Ledger state the fake node simulates against and the one-shot answers it owes."""

    contracts: set[str] = field(default_factory=set)  # prepared as a node prepares payments
    accounts: dict[str, int] = field(default_factory=dict)  # G... -> sequence number
    next_stream_id: int = 0
    simulation_error: str | None = None  # force every simulation to fail with this text
    compact: bool = False  # a minimal footprint and auth: a SEP-7 URI small enough for a QR
    send_statuses: deque[str] = field(default_factory=deque)  # one-shot "ERROR"/"TRY_AGAIN_LATER"
    fail_next: bool = False  # the next transaction sent lands FAILED (the contract call traps)
    pending_polls: int = 1  # NOT_FOUND answers to getTransaction before a sent one is final
    # Token contracts' SEP-41 metadata: C... -> (symbol, name, decimals), read by simulation.
    tokens: dict[str, tuple[str, str, int]] = field(default_factory=dict)


def _address(val: x.SCVal) -> str:
    if val.type != x.SCValType.SCV_ADDRESS:
        raise ContractFailure(E_INVALID_ARGS)
    return str(Address.from_xdr_sc_val(val).address)


def _u64(val: x.SCVal) -> int:
    if val.type != x.SCValType.SCV_U64:
        raise ContractFailure(E_INVALID_ARGS)
    return int(scval.from_uint64(val))


def _i128(val: x.SCVal) -> int:
    if val.type != x.SCValType.SCV_I128:
        raise ContractFailure(E_INVALID_ARGS)
    return int(scval.from_int128(val))


def stream_args_fields(arg: x.SCVal) -> dict[str, x.SCVal]:
    """Check a ``StreamArgs`` map as the host would (keys sorted, complete, typed)."""
    if arg.type != x.SCValType.SCV_MAP or arg.map is None:
        raise ContractFailure(E_INVALID_ARGS)
    keys = [scval.from_symbol(entry.key) for entry in arg.map.sc_map]
    if keys != sorted(keys) or sorted(keys) != sorted(STREAM_ARGS_TYPES):
        raise ContractFailure(E_INVALID_ARGS)
    fields = {scval.from_symbol(e.key): e.val for e in arg.map.sc_map}
    for key, val in fields.items():
        if val.type not in STREAM_ARGS_TYPES[key]:
            raise ContractFailure(E_INVALID_ARGS)
    return fields


class FakeSorobanRpc(FakeStellarRpc):
    """:class:`FakeStellarRpc` plus contract calls. Attributes tests use:

    ``state`` (:class:`SorobanState`; ``accounts``, ``tokens``, ``send_statuses``, ``fail_next``
    and ``pending_polls`` are its fields), ``streams`` (the in-memory contract's state),
    ``submitted`` and ``simulated`` (decoded envelopes), ``simulation_errors`` (queued one-shot
    simulation error texts), ``transactions`` (hash -> final ``getTransaction`` answer).
    """

    def __init__(
        self,
        chain: Chain,
        *,
        contract_id: str = ce.V2_CONTRACT,
        accounts: dict[str, int] | None = None,
        state: SorobanState | None = None,
        **options: Any,
    ) -> None:
        super().__init__(chain, **options)
        self.contract_id = contract_id
        self.state = state if state is not None else SorobanState()
        self.state.accounts.update(accounts or {})
        self.streams: dict[int, FakeStream] = {}
        self.submitted: list[TransactionEnvelope] = []
        self.simulated: list[TransactionEnvelope] = []
        self.simulation_errors: deque[str] = deque()
        self.transactions: dict[str, dict[str, Any]] = {}
        self._polls: dict[str, int] = {}

    @property
    def accounts(self) -> dict[str, int]:
        return self.state.accounts

    @property
    def tokens(self) -> dict[str, tuple[str, str, int]]:
        return self.state.tokens

    @property
    def send_statuses(self) -> deque[str]:
        return self.state.send_statuses

    @property
    def fail_next(self) -> bool:
        return self.state.fail_next

    @fail_next.setter
    def fail_next(self, value: bool) -> None:
        self.state.fail_next = value

    @property
    def pending_polls(self) -> int:
        return self.state.pending_polls

    @pending_polls.setter
    def pending_polls(self, value: int) -> None:
        self.state.pending_polls = value

    # --- dispatch ---

    def answer(self, request: Any) -> dict[str, Any]:
        handlers = {
            "getLedgerEntries": self._get_ledger_entries,
            "simulateTransaction": self._simulate,
            "sendTransaction": self._send,
            "getTransaction": self._get_transaction,
        }
        method = request.get("method") if isinstance(request, dict) else None
        if (
            not isinstance(method, str)
            or method not in handlers
            or method in self.results
            or request.get("jsonrpc") != "2.0"
        ):
            return super().answer(request)
        self.calls.append((method, request.get("params")))
        request_id = request.get("id")
        params = request.get("params")
        if not isinstance(params, dict):
            return _error(request_id, INVALID_PARAMS, "params must be an object (by-name)")
        try:
            result = handlers[method](params)
        except RpcFault as fault:
            return _error(request_id, fault.code, fault.message)
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    # --- accounts ---

    def _get_ledger_entries(self, params: dict[str, Any]) -> dict[str, Any]:
        keys = params.get("keys")
        if not isinstance(keys, list) or not keys or len(keys) > 200:
            raise RpcFault(INVALID_PARAMS, "keys must be a list of 1-200 base64 LedgerKeys")
        entries = []
        for key_xdr in keys:
            try:
                key = x.LedgerKey.from_xdr(key_xdr)
            except Exception as exc:
                raise RpcFault(INVALID_PARAMS, f"cannot unmarshal key value {key_xdr}") from exc
            if key.type != x.LedgerEntryType.ACCOUNT or key.account is None:
                continue  # only accounts live in this fake ledger
            account = _account_id(key.account.account_id)
            if account not in self.accounts:
                continue
            entries.append(
                {
                    "key": key_xdr,
                    "xdr": account_entry_xdr(account, self.accounts[account]),
                    "lastModifiedLedgerSeq": self.chain.latest_ledger - 1,
                }
            )
        return {"entries": entries, "latestLedger": self.chain.latest_ledger}

    # --- simulation ---

    def _envelope(self, params: dict[str, Any]) -> TransactionEnvelope:
        try:
            return TransactionEnvelope.from_xdr(params["transaction"], self.chain.passphrase)
        except Exception as exc:
            raise RpcFault(INVALID_PARAMS, f"invalid transaction: {exc}") from exc

    def _invocation(self, envelope: TransactionEnvelope) -> tuple[str, list[x.SCVal]]:
        ops = envelope.transaction.operations
        if len(ops) != 1 or not isinstance(ops[0], InvokeHostFunction):
            raise RpcFault(INVALID_PARAMS, "expected exactly one InvokeHostFunction operation")
        invoke = ops[0].host_function.invoke_contract
        if invoke is None:
            raise RpcFault(INVALID_PARAMS, "expected a contract invocation")
        contract = Address.from_xdr_sc_address(invoke.contract_address).address
        if contract != self.contract_id:
            raise ContractFailure(E_INVALID_ARGS)
        return invoke.function_name.sc_symbol.decode(), list(invoke.args)

    def _simulate(self, params: dict[str, Any]) -> dict[str, Any]:
        envelope = self._envelope(params)
        self.simulated.append(envelope)
        latest = self.chain.latest_ledger
        if self.simulation_errors:
            return self._failed_simulation(self.simulation_errors.popleft())
        if self.state.simulation_error is not None:
            return _host_failure(self.state.simulation_error, latest)
        metadata = self._token_metadata(envelope)
        if metadata is not None:
            return metadata
        if _called_contract(envelope) in self.state.contracts:
            return payment_simulation(envelope, self.state, latest)
        try:
            function, args = self._invocation(envelope)
            outcome = self._run(function, args, dry_run=True)
        except ContractFailure as failure:
            return self._failed_simulation(contract_error(failure.number))
        source = envelope.transaction.source.account_id
        op = envelope.transaction.operations[0]
        assert isinstance(op, InvokeHostFunction) and op.host_function.invoke_contract
        auth = _auth_entry(op.host_function.invoke_contract, outcome.auth_address, source)
        data = (
            SorobanDataBuilder()
            .set_resources(1_635_562, 1_588, 1_092)
            .set_read_only([_instance_key(self.contract_id)])
            .set_resource_fee(90_353)
            .build()
        )
        # The recorded SuccessfulSimulationResult shape.
        return {
            "transactionData": data.to_xdr(),
            "minResourceFee": "90353",
            "events": [],
            "results": [{"auth": [auth.to_xdr()], "xdr": outcome.value.to_xdr()}],
            "cost": {"cpuInsns": "1635562", "memBytes": "1295756"},
            "latestLedger": self.chain.latest_ledger,
        }

    def _token_metadata(self, envelope: TransactionEnvelope) -> dict[str, Any] | None:
        skip = {self.contract_id, *self.state.contracts}
        return token_metadata_answer(envelope, self.tokens, self.chain.latest_ledger, skip=skip)

    def _failed_simulation(self, error: str) -> dict[str, Any]:
        # The recorded FailedSimulationResult shape: error, events, cost, latestLedger.
        return {
            "error": error,
            "events": [],
            "cost": {"cpuInsns": "0", "memBytes": "0"},
            "latestLedger": self.chain.latest_ledger,
        }

    # --- the contract ---

    def _now(self) -> int:
        return int(self.chain.close_time(self.chain.latest_ledger).timestamp())

    def _stream(self, stream_id: int) -> FakeStream:
        if stream_id not in self.streams:
            raise ContractFailure(E_NOT_FOUND)
        return self.streams[stream_id]

    def _run(self, function: str, args: list[x.SCVal], *, dry_run: bool) -> Outcome:
        now = self._now()
        if function == "create_stream" and len(args) == 1:
            return self._create(stream_args_fields(args[0]), now, dry_run)
        if function == "withdraw" and len(args) == 2:
            sid, beneficiary = _u64(args[0]), _address(args[1])
            stream = self._stream(sid)
            if stream.canceled:
                raise ContractFailure(E_CANCELED)
            if beneficiary != stream.receiver:
                raise ContractFailure(E_UNAUTHORIZED)
            amount = _unlocked(stream, now) - stream.withdrawn
            total_withdrawn = stream.withdrawn + amount
            if not dry_run:
                stream.withdrawn = total_withdrawn
            event = ce.claim(sid, beneficiary, amount, total_withdrawn, now)
            return Outcome(scval.to_int128(amount), beneficiary, [event])
        if function == "cancel" and len(args) == 2:
            sid, caller = _u64(args[0]), _address(args[1])
            stream = self._stream(sid)
            if stream.canceled:
                raise ContractFailure(E_CANCELED)
            if caller not in (stream.sender, stream.receiver):
                raise ContractFailure(E_UNAUTHORIZED)
            earned = _unlocked(stream, now)
            event = ce.cancel(sid, caller, earned - stream.withdrawn, stream.total - earned, now)
            if not dry_run:
                stream.canceled = True
                stream.withdrawn = earned
            return Outcome(scval.to_void(), caller, [event])
        if function == "top_up" and len(args) == 3:
            sid, sender, extra = _u64(args[0]), _address(args[1]), _i128(args[2])
            stream = self._stream(sid)
            if sender != stream.sender:
                raise ContractFailure(E_UNAUTHORIZED)
            if extra <= 0 or stream.canceled:
                raise ContractFailure(E_INVALID_ARGS)
            new_total = stream.total + extra
            new_end = stream.end + (stream.end - stream.start) * extra // stream.total
            if not dry_run:
                stream.total, stream.end = new_total, new_end
            event = ce.top_up(sid, sender, extra, new_total, new_end, now)
            return Outcome(scval.to_void(), sender, [event])
        raise ContractFailure(E_INVALID_ARGS)

    def _create(self, f: dict[str, x.SCVal], now: int, dry_run: bool) -> Outcome:
        sender, receiver = _address(f["sender"]), _address(f["receiver"])
        token, total = _address(f["token"]), _i128(f["total_amount"])
        start, cliff, end = _u64(f["start_time"]), _u64(f["cliff_time"]), _u64(f["end_time"])
        if total <= 0 or end <= start or cliff < start:
            raise ContractFailure(E_INVALID_ARGS)
        memo = None if f["memo"].type == x.SCValType.SCV_VOID else scval.from_symbol(f["memo"])
        sid = self.state.next_stream_id
        events = [ce.create_v2(sid, sender, receiver, token, total, start, cliff, end, now, memo)]
        if memo is not None:
            events.append(ce.split_exec(sid, sender, receiver, total, memo, now))
        if not dry_run:
            self.streams[sid] = FakeStream(sender, receiver, token, total, start, cliff, end)
            self.state.next_stream_id += 1
        return Outcome(scval.to_uint64(sid), sender, events)

    # --- submission ---

    def _send(self, params: dict[str, Any]) -> dict[str, Any]:
        envelope = self._envelope(params)
        self.submitted.append(envelope)
        answer, applied = admit(
            self.chain, envelope, self.accounts, self.send_statuses, self.transactions
        )
        if not applied:
            return answer
        tx_hash = envelope.hash_hex()
        contract = _called_contract(envelope)
        if contract != self.contract_id or contract in self.state.contracts:
            # a payment contract's call (or anything else): it lands without running
            failed, self.fail_next = self.fail_next, False
            landed = final_result(self.chain, envelope, self.chain.advance(), failed=failed)
            self.transactions[tx_hash] = landed
            self._polls[tx_hash] = self.pending_polls
            return answer
        function, args = self._invocation(envelope)
        ledger = self.chain.advance()
        outcome = None
        if self.fail_next:
            self.fail_next = False
        else:
            try:
                outcome = self._run(function, args, dry_run=False)
            except ContractFailure:
                outcome = None
        result = final_result(self.chain, envelope, ledger, failed=outcome is None)
        if outcome is not None:
            result["resultMetaXdr"] = _meta(outcome, self.contract_id)
            for index, event in enumerate(outcome.events):
                self.chain.add_encoded(
                    event,
                    contract_id=self.contract_id,
                    ledger=ledger,
                    tx_hash=tx_hash,
                    tx_index=1,
                    event_index=index,
                )
        self.transactions[tx_hash] = result
        self._polls[tx_hash] = self.pending_polls
        return answer

    def _get_transaction(self, params: dict[str, Any]) -> dict[str, Any]:
        return transaction_answer(self.chain, self.transactions, self._polls, params)


# --- sendTransaction and getTransaction ---


def _close_time(chain: Chain, ledger: int) -> str:
    return str(int(chain.close_time(ledger).timestamp()))


def sent_base(chain: Chain, tx_hash: str) -> dict[str, Any]:
    """The fields of every ``sendTransaction`` answer."""
    return {
        "hash": tx_hash,
        "latestLedger": chain.latest_ledger,
        "latestLedgerCloseTime": _close_time(chain, chain.latest_ledger),
    }


def admit(
    chain: Chain,
    envelope: TransactionEnvelope,
    accounts: dict[str, int],
    send_statuses: deque[str],
    known: dict[str, Any],
) -> tuple[dict[str, Any], bool]:
    """``sendTransaction``'s answer for ``envelope`` and whether the node applies it (then its
    source's sequence in ``accounts`` is bumped and the answer is PENDING).

    Not applied, in order: a queued one-shot status (``"ERROR"`` is the recorded txBAD_SEQ
    answer), DUPLICATE of a ``known`` hash, the recorded txBAD_SEQ ERROR when its sequence is
    not its source's + 1, a txBAD_AUTH ERROR without a valid signature of its source over the
    network hash (or with an unsigned address authorization).
    """
    tx_hash = envelope.hash_hex()
    base = sent_base(chain, tx_hash)
    if send_statuses:
        status = send_statuses.popleft()
        if status == "ERROR":
            return {**recorded_method_result("sendTransaction", 2), **base}, False
        return {**base, "status": status}, False
    if tx_hash in known:
        return {**base, "status": "DUPLICATE"}, False
    source = envelope.transaction.source.account_id
    if envelope.transaction.sequence != accounts.get(source, -2) + 1:
        # the recorded ERROR answer carries txBAD_SEQ
        return {**recorded_method_result("sendTransaction", 2), **base}, False
    if not _signed_by(envelope, source) or not _address_auth_signed(envelope):
        bad_auth = tx_result(x.TransactionResultCode.txBAD_AUTH)
        return {**base, "status": "ERROR", "errorResultXdr": bad_auth}, False
    accounts[source] += 1
    return {**base, "status": "PENDING"}, True


def final_result(
    chain: Chain, envelope: TransactionEnvelope, ledger: int, *, failed: bool
) -> dict[str, Any]:
    """The ``getTransaction`` answer of ``envelope`` landed in ``ledger``: the recorded SUCCESS
    shape, or FAILED with a txFAILED / INVOKE_HOST_FUNCTION_TRAPPED result."""
    success = recorded_method_result("getTransaction", 0)
    created_at = _close_time(chain, ledger)
    result = {
        "latestLedger": ledger,
        "latestLedgerCloseTime": created_at,
        "oldestLedger": chain.oldest_ledger,
        "oldestLedgerCloseTime": _close_time(chain, chain.oldest_ledger),
        "status": "FAILED" if failed else "SUCCESS",
        "txHash": envelope.hash_hex(),
        "applicationOrder": 1,
        "feeBump": False,
        "envelopeXdr": envelope.to_xdr(),
        "resultXdr": success["resultXdr"],
        "resultMetaXdr": success["resultMetaXdr"],
        "ledger": ledger,
        "createdAt": created_at,
    }
    if failed:
        result["resultXdr"] = tx_result(
            x.TransactionResultCode.txFAILED,
            x.InvokeHostFunctionResultCode.INVOKE_HOST_FUNCTION_TRAPPED,
        )
    return result


def transaction_answer(
    chain: Chain, transactions: dict[str, Any], polls: dict[str, int], params: dict[str, Any]
) -> dict[str, Any]:
    """``getTransaction``: the recorded NOT_FOUND while a hash is unknown or still has ``polls``
    left (each answer uses one), then its final answer from ``transactions``."""
    tx_hash = params.get("hash")
    if not isinstance(tx_hash, str) or len(tx_hash) != 64:
        raise RpcFault(INVALID_PARAMS, "invalid hash")
    if tx_hash not in transactions or polls.get(tx_hash, 0) > 0:
        if tx_hash in polls:
            polls[tx_hash] -= 1
        not_found = recorded_method_result("getTransaction", 1)
        return {**not_found, "txHash": tx_hash, "latestLedger": chain.latest_ledger}
    answer: dict[str, Any] = transactions[tx_hash]
    return answer


def token_metadata_answer(
    envelope: TransactionEnvelope,
    tokens: dict[str, tuple[str, str, int]],
    latest_ledger: int,
    *,
    skip: set[str],
) -> dict[str, Any] | None:
    """A fake node's answer to a read-only ``symbol``/``name``/``decimals`` simulation on a
    contract not in ``skip``: the value for ``tokens`` (C... -> (symbol, name, decimals)), the
    recorded failed-simulation shape for any other contract; None for any other call."""
    ops = envelope.transaction.operations
    if len(ops) != 1 or not isinstance(ops[0], InvokeHostFunction):
        return None
    invoke = ops[0].host_function.invoke_contract
    if invoke is None:
        return None
    contract = Address.from_xdr_sc_address(invoke.contract_address).address
    function = invoke.function_name.sc_symbol.decode()
    if contract in skip or function not in ("symbol", "name", "decimals"):
        return None
    if contract not in tokens:
        return {
            "error": "HostError: Error(Storage, MissingValue)\n\nEvent log (newest first):\n"
            f"   0: [Diagnostic Event] contract:{contract}, topics:[error], "
            f'data:"trying to invoke non-existent contract function {function}"',
            "events": [],
            "cost": {"cpuInsns": "0", "memBytes": "0"},
            "latestLedger": latest_ledger,
        }
    symbol, name, decimals = tokens[contract]
    value = {
        "symbol": scval.to_string(symbol),
        "name": scval.to_string(name),
        "decimals": scval.to_uint32(decimals),
    }[function]
    return {
        "transactionData": SorobanDataBuilder().set_resource_fee(1_000).build().to_xdr(),
        "minResourceFee": "1000",
        "events": [],
        "results": [{"auth": [], "xdr": value.to_xdr()}],
        "cost": {"cpuInsns": "100000", "memBytes": "10000"},
        "latestLedger": latest_ledger,
    }


@contextmanager
def running_soroban_rpc(
    chain: Chain | None = None, **options: Any
) -> Iterator[tuple[str, FakeSorobanRpc]]:
    """Serve a :class:`FakeSorobanRpc` on 127.0.0.1; yield ``(url, node)``."""
    node = FakeSorobanRpc(chain or Chain(), **options)
    with serve(node) as url:
        yield url + "/", node


def rpc_call(url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """One JSON-RPC call to the node at ``url``; its ``result``."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    response = httpx.post(url, json=body, timeout=10)
    response.raise_for_status()
    answer = response.json()
    assert "result" in answer, answer
    result: dict[str, Any] = answer["result"]
    return result


def wallet_pays(url: str, signed_xdr: str, *, timeout: float = 10.0) -> dict[str, Any]:
    """A wallet that submits ``signed_xdr`` itself: ``sendTransaction``, then ``getTransaction``
    until it is final; that final answer (``txHash``, ``status``)."""
    sent = rpc_call(url, "sendTransaction", {"transaction": signed_xdr})
    assert sent["status"] == "PENDING", sent
    deadline = time.monotonic() + timeout
    while True:
        landed = rpc_call(url, "getTransaction", {"hash": sent["hash"]})
        if landed["status"] != "NOT_FOUND":
            return landed
        assert time.monotonic() < deadline, f"{sent['hash']} did not land"
        time.sleep(0.02)


# --- a payer's create_stream, prepared as a node does (SorobanState.contracts) ---


def _called_contract(envelope: TransactionEnvelope) -> str | None:
    ops = envelope.transaction.operations
    if len(ops) != 1 or not isinstance(ops[0], InvokeHostFunction):
        return None
    invoke = ops[0].host_function.invoke_contract
    return None if invoke is None else Address.from_xdr_sc_address(invoke.contract_address).address


def _host_failure(message: str, latest_ledger: int) -> dict[str, Any]:
    return {
        "error": f"host invocation failed\n\nCaused by:\n    HostError: {message}\n",
        "events": [],
        "cost": {"cpuInsns": "0", "memBytes": "0"},
        "latestLedger": latest_ledger,
    }


def payment_simulation(
    envelope: TransactionEnvelope, state: SorobanState, latest: int
) -> dict[str, Any]:
    """``simulateTransaction`` of a call on one of ``state.contracts``: the recorded
    ``SuccessfulSimulationResult`` shape for a payer's ``create_stream``, the recorded
    ``FailedSimulationResult`` shape for anything else."""
    operation = envelope.transaction.operations[0]
    assert isinstance(operation, InvokeHostFunction)
    invoke = operation.host_function.invoke_contract
    assert invoke is not None
    contract = Address.from_xdr_sc_address(invoke.contract_address).address
    function = invoke.function_name.sc_symbol.decode()
    if function != CREATE_STREAM or len(invoke.args) != 1:
        return _host_failure(f"Error(WasmVm, InvalidAction): no function {function!r}/1", latest)
    fields = _struct(invoke.args[0])
    if fields is None or tuple(fields) != STREAM_ARGS_KEYS:
        return _host_failure("Error(Value, UnexpectedType): args is not a StreamArgs", latest)
    source = envelope.transaction.source.account_id
    sender = scval.from_address(fields["sender"]).address
    if sender != source:
        return _host_failure("Error(Auth, InvalidAction): sender must authorize", latest)
    token = scval.from_address(fields["token"]).address
    amount = scval.from_int128(fields["total_amount"])
    stream_id = state.next_stream_id
    state.next_stream_id += 1
    stream_key = _contract_data_key(
        contract, scval.to_vec([scval.to_symbol("Stream"), scval.to_uint64(stream_id)])
    )
    read_only = [_instance_key(contract), _code_key(contract), _instance_key(token)]
    read_write = [_balance_key(token, sender), _balance_key(token, contract), stream_key]
    if state.compact:  # small enough for a QR code, whatever the slug and times
        read_only, read_write = [], []
    data = (
        SorobanDataBuilder()
        .set_read_only(read_only)
        .set_read_write(read_write)
        .set_resources(2_654_001, 3_548, 1_124)
        .set_resource_fee(MIN_RESOURCE_FEE)
        .build()
    )
    transfer = x.SorobanAuthorizedInvocation(
        function=x.SorobanAuthorizedFunction(
            x.SorobanAuthorizedFunctionType.SOROBAN_AUTHORIZED_FUNCTION_TYPE_CONTRACT_FN,
            contract_fn=x.InvokeContractArgs(
                contract_address=Address(token).to_xdr_sc_address(),
                function_name=x.SCSymbol(b"transfer"),
                args=[
                    scval.to_address(sender),
                    scval.to_address(contract),
                    scval.to_int128(amount),
                ],
            ),
        ),
        sub_invocations=[],
    )
    auth = x.SorobanAuthorizationEntry(
        credentials=x.SorobanCredentials(
            x.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT
        ),
        root_invocation=x.SorobanAuthorizedInvocation(
            function=x.SorobanAuthorizedFunction(
                x.SorobanAuthorizedFunctionType.SOROBAN_AUTHORIZED_FUNCTION_TYPE_CONTRACT_FN,
                contract_fn=invoke,
            ),
            sub_invocations=[] if state.compact else [transfer],
        ),
    )
    return {
        "transactionData": data.to_xdr(),
        "minResourceFee": str(MIN_RESOURCE_FEE),
        "events": [],
        "results": [{"auth": [auth.to_xdr()], "xdr": scval.to_uint64(stream_id).to_xdr()}],
        "cost": {"cpuInsns": "1635562", "memBytes": "1295756"},
        "latestLedger": latest,
    }


def _struct(value: x.SCVal) -> dict[str, x.SCVal] | None:
    if value.type != x.SCValType.SCV_MAP or value.map is None:
        return None
    out: dict[str, x.SCVal] = {}
    for entry in value.map.sc_map:
        if entry.key.type != x.SCValType.SCV_SYMBOL or entry.key.sym is None:
            return None
        out[entry.key.sym.sc_symbol.decode()] = entry.val
    return out


# --- XDR helpers ---


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def _account_id(account_id: x.AccountID) -> str:
    raw = account_id.account_id.ed25519
    assert raw is not None
    return str(Keypair.from_raw_ed25519_public_key(raw.uint256).public_key)


def account_entry_xdr(account_id: str, sequence: int, balance: int = 10_000 * 10**7) -> str:
    """The ``LedgerEntryData`` XDR of a plain funded account."""
    entry = x.AccountEntry(
        account_id=Keypair.from_public_key(account_id).xdr_account_id(),
        balance=x.Int64(balance),
        seq_num=x.SequenceNumber(x.Int64(sequence)),
        num_sub_entries=x.Uint32(0),
        inflation_dest=None,
        flags=x.Uint32(0),
        home_domain=x.String32(b""),
        thresholds=x.Thresholds(b"\x01\x00\x00\x00"),
        signers=[],
        ext=x.AccountEntryExt(0),
    )
    return str(x.LedgerEntryData(x.LedgerEntryType.ACCOUNT, account=entry).to_xdr())


def _contract_data_key(contract: str, key: x.SCVal) -> x.LedgerKey:
    return x.LedgerKey(
        x.LedgerEntryType.CONTRACT_DATA,
        contract_data=x.LedgerKeyContractData(
            contract=Address(contract).to_xdr_sc_address(),
            key=key,
            durability=x.ContractDataDurability.PERSISTENT,
        ),
    )


def _code_key(contract: str) -> x.LedgerKey:
    wasm_hash = hashlib.sha256(f"wasm of {contract}".encode()).digest()
    return x.LedgerKey(
        x.LedgerEntryType.CONTRACT_CODE, contract_code=x.LedgerKeyContractCode(x.Hash(wasm_hash))
    )


def _balance_key(token: str, holder: str) -> x.LedgerKey:
    return _contract_data_key(
        token, scval.to_vec([scval.to_symbol("Balance"), scval.to_address(holder)])
    )


def _instance_key(contract_id: str) -> x.LedgerKey:
    return _contract_data_key(contract_id, x.SCVal(x.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE))


def _auth_entry(
    invoke: x.InvokeContractArgs, address: str, source: str
) -> x.SorobanAuthorizationEntry:
    """What recording-mode simulation returns for ``address.require_auth()``."""
    if address == source:
        credentials = x.SorobanCredentials(
            x.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT
        )
    else:
        nonce = int.from_bytes(hashlib.sha256(address.encode()).digest()[:8], "big") >> 1
        credentials = x.SorobanCredentials(
            x.SorobanCredentialsType.SOROBAN_CREDENTIALS_ADDRESS,
            address=x.SorobanAddressCredentials(
                address=Address(address).to_xdr_sc_address(),
                nonce=x.Int64(nonce),
                signature_expiration_ledger=x.Uint32(0),
                signature=scval.to_void(),
            ),
        )
    function = x.SorobanAuthorizedFunction(
        x.SorobanAuthorizedFunctionType.SOROBAN_AUTHORIZED_FUNCTION_TYPE_CONTRACT_FN,
        contract_fn=copy.deepcopy(invoke),
    )
    return x.SorobanAuthorizationEntry(
        credentials=credentials,
        root_invocation=x.SorobanAuthorizedInvocation(function=function, sub_invocations=[]),
    )


def _signed_by(envelope: TransactionEnvelope, account: str) -> bool:
    keypair = Keypair.from_public_key(account)
    payload = envelope.hash()
    for signature in envelope.signatures:
        if signature.signature_hint != keypair.signature_hint():
            continue
        try:
            keypair.verify(payload, signature.signature)
        except BadSignatureError:
            continue
        return True
    return False


def _address_auth_signed(envelope: TransactionEnvelope) -> bool:
    op = envelope.transaction.operations[0]
    assert isinstance(op, InvokeHostFunction)
    for entry in op.auth:
        address = entry.credentials.address
        if address is not None and address.signature.type == x.SCValType.SCV_VOID:
            return False
    return True


def tx_result(
    code: x.TransactionResultCode, op_code: x.InvokeHostFunctionResultCode | None = None
) -> str:
    results = []
    if op_code is not None:
        results.append(
            x.OperationResult(
                x.OperationResultCode.opINNER,
                tr=x.OperationResultTr(
                    x.OperationType.INVOKE_HOST_FUNCTION,
                    invoke_host_function_result=x.InvokeHostFunctionResult(op_code),
                ),
            )
        )
    result = x.TransactionResult(
        fee_charged=x.Int64(100),
        result=x.TransactionResultResult(code, results=results),
        ext=x.TransactionResultExt(0),
    )
    return str(result.to_xdr())


def _meta(outcome: Outcome, contract_id: str) -> str:
    """The recorded success meta (v4) with our return value and contract events."""
    meta = x.TransactionMeta.from_xdr(recorded_method_result("getTransaction", 0)["resultMetaXdr"])
    assert meta.v4 is not None and meta.v4.soroban_meta is not None
    meta.v4.soroban_meta.return_value = outcome.value
    contract = x.ContractID(x.Hash(Address(contract_id).key))
    meta.v4.operations[0].events = [
        x.ContractEvent(
            ext=x.ExtensionPoint(0),
            contract_id=contract,
            type=x.ContractEventType.CONTRACT,
            body=x.ContractEventBody(
                0,
                v0=x.ContractEventV0(
                    topics=[x.SCVal.from_xdr(t) for t in topics], data=x.SCVal.from_xdr(value)
                ),
            ),
        )
        for topics, value in outcome.events
    ]
    return str(meta.to_xdr())


def _unlocked(stream: FakeStream, now: int) -> int:
    if stream.canceled or now >= stream.end:
        return stream.total
    if now < stream.cliff or now <= stream.start:
        return 0
    return stream.total * (now - stream.start) // (stream.end - stream.start)
