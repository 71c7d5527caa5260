"""The fake Stellar RPC, extended with what preparing a payer's transaction request calls.

(The SDK's tests have their own fake in ``soroban_rpc.py``; this one serves the backend's
transaction requests.) :class:`PayerRpc` answers, besides the methods of :class:`FakeStellarRpc`:

* ``getLedgerEntries``: ``ACCOUNT`` keys of :attr:`SorobanState.accounts` (their sequence number)
  as ``{"entries": [{"key", "xdr" (LedgerEntryData), "lastModifiedLedgerSeq"}], "latestLedger"}``,
  the shape of the recorded ``examples/LedgerEntries.json``; unknown keys are simply absent.
* ``simulateTransaction``: for ``create_stream(StreamArgs)`` on a known contract, the shape of the
  recorded ``SuccessfulSimulationResult`` (``transactionData`` with a plausible footprint: contract
  instance and code, token instance, payer and contract balances, the new stream entry;
  ``minResourceFee``; ``results[0]`` with the source-account auth of the call and its token
  transfer, and the new stream id as return value; ``cost``; ``latestLedger``). Anything else
  answers like the recorded ``FailedSimulationResult`` (``error`` text, no ``transactionData``).
* ``sendTransaction``: the checks and answers of ``soroban_rpc.FakeSorobanRpc`` (a queued
  :attr:`SorobanState.send_statuses` one-shot answer; DUPLICATE; the recorded txBAD_SEQ ERROR
  unless the sequence is the account's + 1; txBAD_AUTH without the source's signature over the
  network hash); accepted: PENDING, the account's sequence bumped, a ledger closed.
* ``getTransaction``: NOT_FOUND for :attr:`SorobanState.pending_polls` answers after the send
  (and for hashes never sent), then SUCCESS with the ``envelopeXdr`` sent, or FAILED with a
  trapped result when :attr:`SorobanState.fail_next` was set.

Every simulated envelope is kept in :attr:`PayerRpc.simulated`, every sent one in
:attr:`PayerRpc.submitted`, for assertions. :func:`wallet_pays` is a wallet that sends a signed
envelope itself and waits for its result.
"""

from __future__ import annotations

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
from stellar_sdk.operation import InvokeHostFunction

from nebula_sdk.lib.invocations import CREATE_STREAM, STREAM_ARGS_KEYS
from tests.support.server import serve
from tests.support.soroban_rpc import (
    admit,
    final_result,
    token_metadata_answer,
    transaction_answer,
)
from tests.support.stellar_rpc import INVALID_PARAMS, Chain, FakeStellarRpc, RpcFault

MIN_RESOURCE_FEE = 90_353
"""As in the recorded successful simulation."""


@dataclass
class SorobanState:
    """Ledger state the fake node simulates against."""

    contracts: set[str] = field(default_factory=set)
    accounts: dict[str, int] = field(default_factory=dict)  # G... -> sequence number
    next_stream_id: int = 0
    simulation_error: str | None = None  # force every simulation to fail with this text
    compact: bool = False  # a minimal footprint and auth: a SEP-7 URI small enough for a QR
    send_statuses: deque[str] = field(default_factory=deque)  # one-shot "ERROR"/"TRY_AGAIN_LATER"
    fail_next: bool = False  # the next transaction sent lands FAILED (the contract call traps)
    pending_polls: int = 1  # NOT_FOUND answers to getTransaction before a sent one is final
    # Token contracts' SEP-41 metadata: C... -> (symbol, name, decimals), read by simulation.
    tokens: dict[str, tuple[str, str, int]] = field(default_factory=dict)


def _failed(message: str, latest_ledger: int) -> dict[str, Any]:
    return {
        "error": f"host invocation failed\n\nCaused by:\n    HostError: {message}\n",
        "events": [],
        "cost": {"cpuInsns": "0", "memBytes": "0"},
        "latestLedger": latest_ledger,
    }


def _contract_data_key(contract: str, key: x.SCVal) -> x.LedgerKey:
    return x.LedgerKey(
        x.LedgerEntryType.CONTRACT_DATA,
        contract_data=x.LedgerKeyContractData(
            contract=Address(contract).to_xdr_sc_address(),
            key=key,
            durability=x.ContractDataDurability.PERSISTENT,
        ),
    )


def _instance_key(contract: str) -> x.LedgerKey:
    return _contract_data_key(contract, x.SCVal(x.SCValType.SCV_LEDGER_KEY_CONTRACT_INSTANCE))


def _code_key(contract: str) -> x.LedgerKey:
    wasm_hash = hashlib.sha256(f"wasm of {contract}".encode()).digest()
    return x.LedgerKey(
        x.LedgerEntryType.CONTRACT_CODE, contract_code=x.LedgerKeyContractCode(x.Hash(wasm_hash))
    )


def _balance_key(token: str, holder: str) -> x.LedgerKey:
    return _contract_data_key(
        token, scval.to_vec([scval.to_symbol("Balance"), scval.to_address(holder)])
    )


def account_entry_xdr(account_id: str, sequence: int, balance: int = 10_000 * 10**7) -> str:
    """The ``LedgerEntryData`` XDR of a plain funded account."""
    data = x.LedgerEntryData(
        x.LedgerEntryType.ACCOUNT,
        account=x.AccountEntry(
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
        ),
    )
    return str(data.to_xdr())


class PayerRpc(FakeStellarRpc):
    """:class:`FakeStellarRpc` plus ``getLedgerEntries``, ``simulateTransaction``,
    ``sendTransaction`` and ``getTransaction``."""

    def __init__(self, chain: Chain, state: SorobanState, **options: Any) -> None:
        super().__init__(chain, **options)
        self.state = state
        self.simulated: list[TransactionEnvelope] = []
        self.submitted: list[TransactionEnvelope] = []
        self.transactions: dict[str, dict[str, Any]] = {}  # hash -> final getTransaction answer
        self._polls: dict[str, int] = {}

    def answer(self, request: Any) -> dict[str, Any]:
        handlers = {
            "getLedgerEntries": self._get_ledger_entries,
            "simulateTransaction": self._simulate,
            "sendTransaction": self._send,
            "getTransaction": self._get_transaction,
        }
        method = request.get("method") if isinstance(request, dict) else None
        if method not in handlers or request.get("jsonrpc") != "2.0" or method in self.results:
            return super().answer(request)
        request_id = request.get("id")
        params = request.get("params")
        self.calls.append((method, params))
        if not isinstance(params, dict):
            return _error(request_id, INVALID_PARAMS, "params must be an object (by-name)")
        try:
            result = handlers[method](params)
        except RpcFault as fault:
            return _error(request_id, fault.code, fault.message)
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    def _get_ledger_entries(self, params: dict[str, Any]) -> dict[str, Any]:
        keys = params.get("keys")
        if not isinstance(keys, list) or not keys or len(keys) > 200:
            raise RpcFault(INVALID_PARAMS, "keys must be a list of 1-200 base64 LedgerKeys")
        entries = []
        for encoded in keys:
            try:
                key = x.LedgerKey.from_xdr(encoded)
            except Exception as exc:
                raise RpcFault(INVALID_PARAMS, f"cannot unmarshal key value {encoded}") from exc
            if key.type != x.LedgerEntryType.ACCOUNT or key.account is None:
                continue
            account_id = Keypair.from_raw_ed25519_public_key(
                key.account.account_id.account_id.ed25519.uint256
            ).public_key
            if account_id in self.state.accounts:
                entries.append(
                    {
                        "key": encoded,
                        "xdr": account_entry_xdr(account_id, self.state.accounts[account_id]),
                        "lastModifiedLedgerSeq": self.chain.latest_ledger - 10,
                    }
                )
        return {"entries": entries, "latestLedger": self.chain.latest_ledger}

    def _envelope(self, params: dict[str, Any]) -> TransactionEnvelope:
        try:
            return TransactionEnvelope.from_xdr(params.get("transaction"), self.chain.passphrase)
        except Exception as exc:
            raise RpcFault(INVALID_PARAMS, f"could not unmarshal transaction: {exc}") from exc

    def _send(self, params: dict[str, Any]) -> dict[str, Any]:
        envelope = self._envelope(params)
        self.submitted.append(envelope)
        state = self.state
        answer, applied = admit(
            self.chain, envelope, state.accounts, state.send_statuses, self.transactions
        )
        if applied:
            failed, state.fail_next = state.fail_next, False
            landed = final_result(self.chain, envelope, self.chain.advance(), failed=failed)
            self.transactions[envelope.hash_hex()] = landed
            self._polls[envelope.hash_hex()] = state.pending_polls
        return answer

    def _get_transaction(self, params: dict[str, Any]) -> dict[str, Any]:
        return transaction_answer(self.chain, self.transactions, self._polls, params)

    def _simulate(self, params: dict[str, Any]) -> dict[str, Any]:
        latest = self.chain.latest_ledger
        envelope = self._envelope(params)
        self.simulated.append(envelope)
        if self.state.simulation_error is not None:
            return _failed(self.state.simulation_error, latest)
        metadata = token_metadata_answer(
            envelope, self.state.tokens, latest, skip=self.state.contracts
        )
        if metadata is not None:
            return metadata
        operations = envelope.transaction.operations
        if len(operations) != 1 or not isinstance(operations[0], InvokeHostFunction):
            raise RpcFault(
                INVALID_PARAMS, "transaction must contain exactly one InvokeHostFunction"
            )
        invoke = operations[0].host_function.invoke_contract
        if invoke is None:
            return _failed("Error(Value, UnexpectedType): not a contract call", latest)
        contract = Address.from_xdr_sc_address(invoke.contract_address).address
        if contract not in self.state.contracts:
            return _failed("Error(Storage, MissingValue): contract instance not found", latest)
        function = invoke.function_name.sc_symbol.decode()
        if function != CREATE_STREAM or len(invoke.args) != 1:
            return _failed(f"Error(WasmVm, InvalidAction): no function {function!r}/1", latest)
        fields = _struct(invoke.args[0])
        if fields is None or tuple(fields) != STREAM_ARGS_KEYS:
            return _failed("Error(Value, UnexpectedType): args is not a StreamArgs", latest)
        source = envelope.transaction.source.account_id
        sender = scval.from_address(fields["sender"]).address
        if sender != source:
            return _failed("Error(Auth, InvalidAction): sender must authorize", latest)
        token = scval.from_address(fields["token"]).address
        amount = scval.from_int128(fields["total_amount"])
        stream_id = self.state.next_stream_id
        self.state.next_stream_id += 1
        stream_key = _contract_data_key(
            contract, scval.to_vec([scval.to_symbol("Stream"), scval.to_uint64(stream_id)])
        )
        read_only = [_instance_key(contract), _code_key(contract), _instance_key(token)]
        read_write = [_balance_key(token, sender), _balance_key(token, contract), stream_key]
        if self.state.compact:  # small enough for a QR code, whatever the slug and times
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
                sub_invocations=[] if self.state.compact else [transfer],
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


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


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


@contextmanager
def running_payer_rpc(
    state: SorobanState, chain: Chain | None = None, **options: Any
) -> Iterator[tuple[str, PayerRpc]]:
    """Serve a :class:`PayerRpc` on 127.0.0.1; yield ``(url, server)``."""
    server = PayerRpc(chain or Chain(), state, **options)
    with serve(server) as url:
        yield url + "/", server
