"""Read a token contract's ``symbol``, ``name`` and ``decimals`` (SEP-41; every Stellar Asset
Contract has them) with read-only ``simulateTransaction`` calls: nothing is signed or sent.

A Stellar Asset Contract of a classic asset answers ``name`` with ``CODE:ISSUER`` (``native``
for XLM); :func:`classic_issuer` picks the issuer out so its home domain can be shown beside.
"""

from __future__ import annotations

from dataclasses import dataclass

from stellar_sdk import Account, TransactionBuilder, scval
from stellar_sdk import xdr as x

from stellarstream.chain.addresses import is_account
from stellarstream.chain.soroban import ContractRpc
from stellarstream.errors import NotAToken

__all__ = ["ChainToken", "classic_issuer", "read_token"]

# Simulation needs a source account but does not load it: any well-formed one works.
_SIMULATION_SOURCE = "GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF"
MAX_DECIMALS = 38  # an i128 has 39 digits


@dataclass(frozen=True, slots=True)
class ChainToken:
    symbol: str
    name: str
    decimals: int


def _call(rpc: ContractRpc, contract_id: str, function: str, passphrase: str) -> x.SCVal:
    envelope = (
        TransactionBuilder(Account(_SIMULATION_SOURCE, 0), passphrase, base_fee=100)
        .append_invoke_contract_function_op(contract_id, function, [])
        .set_timeout(60)
        .build()
    )
    simulation = rpc.simulate(envelope)
    if simulation.error or not simulation.result_xdr:
        first = (simulation.error or "no result").strip().splitlines()[0][:200]
        raise NotAToken(f"{contract_id}.{function}() failed in simulation: {first}")
    return x.SCVal.from_xdr(simulation.result_xdr)


def _text(value: x.SCVal, what: str) -> str:
    if value.type == x.SCValType.SCV_STRING:
        return scval.from_string(value).decode("utf-8", "replace")
    if value.type == x.SCValType.SCV_SYMBOL:
        return scval.from_symbol(value)
    raise NotAToken(f"{what}() returned {value.type.name}, not a string")


def read_token(rpc: ContractRpc, contract_id: str, passphrase: str) -> ChainToken:
    """``symbol()``, ``name()`` and ``decimals()`` of ``contract_id``.

    Raises :class:`NotAToken` when a call fails in simulation or answers the wrong type, and
    the RPC client's :class:`SourceError` when the node cannot be reached.
    """
    symbol = _text(_call(rpc, contract_id, "symbol", passphrase), "symbol")
    name = _text(_call(rpc, contract_id, "name", passphrase), "name")
    value = _call(rpc, contract_id, "decimals", passphrase)
    if value.type != x.SCValType.SCV_U32:
        raise NotAToken(f"decimals() returned {value.type.name}, not a u32")
    decimals = scval.from_uint32(value)
    if decimals > MAX_DECIMALS:
        raise NotAToken(f"decimals() returned {decimals}: more than an i128 holds")
    return ChainToken(symbol=symbol[:32], name=name[:256], decimals=decimals)


def classic_issuer(token: ChainToken) -> str | None:
    """The issuer (G...) of a classic asset behind a Stellar Asset Contract, from its
    ``CODE:ISSUER`` name; None for any other token."""
    code, sep, issuer = token.name.partition(":")
    if sep and code == token.symbol and is_account(issuer):
        return issuer
    return None
