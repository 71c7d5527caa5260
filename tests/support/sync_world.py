"""One small chain history served three ways: RPC events, Horizon transactions, a data lake.

Every source is built from the same LedgerCloseMetas (real recorded ledgers with StellarStream
events put into their transactions), so a test can prove the keys and the final database are the
same whichever source delivered them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from stellar_sdk import Network
from stellar_sdk import xdr as x

from stellarstream.chain.meta import events_from_ledger_close_meta
from stellarstream.chain.types import RawEvent
from tests.support import contract_events as ce
from tests.support.datalake import EventSpec, synthetic_ledger, write_lake
from tests.support.horizon import transaction_records
from tests.support.stellar_rpc import Chain

C = ce.V2_CONTRACT
TOKEN_EVENT = EventSpec(ce.contract(55), ce.claim(0, ce.account(9), 1, 1, 1))


@dataclass(frozen=True)
class World:
    first: int
    last: int
    lcms: tuple[x.LedgerCloseMeta, ...]

    def events(self) -> list[RawEvent]:
        return [e for lcm in self.lcms for e in events_from_ledger_close_meta(lcm, frozenset({C}))]

    def rpc_chain(self, *, oldest: int | None = None) -> Chain:
        chain = Chain(latest_ledger=self.last + 5, oldest_ledger=oldest or 1)
        for lcm in self.lcms:
            for raw in events_from_ledger_close_meta(lcm, None):
                chain.add_raw(raw)
        return chain

    def horizon_records(self) -> list[dict[str, object]]:
        return transaction_records(self.lcms)

    def write_lake(self, directory: Path) -> Path:
        write_lake(directory, self.lcms, passphrase=Network.TESTNET_NETWORK_PASSPHRASE)
        return directory


@cache
def world(first: int = 100, n_ledgers: int = 24) -> World:
    """Ledgers ``first``..``first+n-1``; every ledger has a create, and later ones claims."""
    lcms = []
    for offset in range(n_ledgers):
        ledger = first + offset
        create = ce.create_v2(
            offset, ce.account(1), ce.account(2), ce.TOKEN, 10**20 + offset, 1000, 1000, 2000, 990
        )
        txs: dict[int, list[list[EventSpec]]] = {2: [[TOKEN_EVENT, EventSpec(C, create)]]}
        if offset >= 2:
            txs[5] = [[EventSpec(C, ce.claim(offset - 2, ce.account(2), 7, 7, 1500))]]
        lcm = synthetic_ledger(txs, meta_version=4 if offset % 2 else 3, sequence=ledger)
        _unique_hashes(lcm, ledger)
        lcms.append(lcm)
    return World(first, first + n_ledgers - 1, tuple(lcms))


def _unique_hashes(lcm: x.LedgerCloseMeta, ledger: int) -> None:
    """Every synthetic ledger starts from one recorded ledger: give its transactions their own
    hashes so (tx_hash, event_index) stays unique across the history."""
    body = {0: lcm.v0, 1: lcm.v1, 2: lcm.v2}[lcm.v]
    for index, processing in enumerate(body.tx_processing, start=1):
        digest = hashlib.sha256(f"{ledger}:{index}".encode()).digest()
        processing.result.transaction_hash = x.Hash(digest)
