"""The browser tests' wallet and chain helpers: a test Freighter (``freighter_wallet.js``)
signing with a keypair in Python, and one catch-up of the real indexer against the test RPC."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stellar_sdk import Keypair, Network, TransactionEnvelope

from stellarstream.chain.rpc import RpcClient, RpcSource
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.ingest.live.indexer import Indexer, StopSignal
from tests.support.clock import FakeClock
from tests.support.invoice_flow import CONTRACT

WALLET_JS = (Path(__file__).parent / "freighter_wallet.js").read_text()


def install_wallet(
    page: Any, keypair: Keypair, *, passphrase: str = Network.TESTNET_NETWORK_PASSPHRASE
) -> None:
    """The test Freighter in ``page``, on ``passphrase``'s network, signing with ``keypair``."""
    config = {
        "address": keypair.public_key,
        "passphrase": passphrase,
        "network": "TESTNET" if passphrase == Network.TESTNET_NETWORK_PASSPHRASE else "PUBLIC",
    }

    def sign(xdr: str, network_passphrase: str) -> str:
        envelope = TransactionEnvelope.from_xdr(xdr, network_passphrase)
        envelope.sign(keypair)
        return str(envelope.to_xdr())

    page.expose_function("testWalletSign", sign)
    page.add_init_script(script=WALLET_JS.replace("__CONFIG__", json.dumps(config)))


def index(database_url: str, url: str) -> None:
    """The real indexer, one catch-up against the test RPC."""
    client = RpcClient(url, timeout=2, max_retries=2, backoff_initial=0.01, backoff_max=0.05)
    engine = make_engine(database_url)
    try:
        Indexer(
            sessions=make_sessionmaker(engine),
            source=RpcSource(client, limit=100),
            contract_ids=[CONTRACT],
            latest_ledger=lambda: client.get_latest_ledger().sequence,
            clock=FakeClock(),
            stop=StopSignal(),
            lock=_NoLock(),
            start_ledger=1,
            poll_interval=0.05,
        ).catch_up()
    finally:
        client.close()
        engine.dispose()


class _NoLock:
    def acquire(self, wait: Callable[[float], bool] | None = None) -> None:
        pass

    def healthy(self) -> bool:
        return True

    def release(self) -> None:
        pass
