"""Helpers for the operations tests: a chain worth indexing, the indexer's environment, waiting."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.support import contract_events as ce
from tests.support.chain_data import stream_history
from tests.support.stellar_rpc import Chain

C = ce.V2_CONTRACT
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]


def chain_with(n_streams: int, *, first_ledger: int = 100, latest: int | None = None) -> Chain:
    """``n_streams`` stream histories on ``C`` (4 events each), each tx led by a token transfer."""
    chain = Chain(latest_ledger=latest or first_ledger + 3 * n_streams + 50, oldest_ledger=1)
    add_streams(chain, 0, n_streams, first_ledger=first_ledger)
    return chain


def add_streams(chain: Chain, first_id: int, count: int, *, first_ledger: int) -> int:
    """Add streams ``first_id .. first_id + count - 1`` in ledgers from ``first_ledger`` on
    (3 ledgers per stream); return the last ledger used."""
    wanted = {
        ce.tx_hash_for(sid * 10 + tx)
        for sid in range(first_id, first_id + count)
        for tx in range(1, 5)
    }
    offset = first_ledger - 1 - 3 * first_id
    last = first_ledger
    for raw in stream_history(first_id + count, first_ledger=offset):
        if raw.tx_hash not in wanted:
            continue
        assert raw.ledger >= first_ledger, (raw.ledger, first_ledger)
        chain.add_raw(raw)
        chain.add(
            *ce.claim(0, ce.account(1), 1, 1, 1),
            contract_id=ce.contract(55),
            ledger=raw.ledger,
            tx_hash=raw.tx_hash,
            tx_index=raw.tx_index,
            event_index=0,
        )
        last = max(last, raw.ledger)
    return last


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any STELLARSTREAM_* variable, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STELLARSTREAM_")}
    env.update(values)
    return env


def indexer_env(database_url: str, rpc_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        STELLARSTREAM_DATABASE_URL=database_url,
        STELLARSTREAM_RPC_URL=rpc_url,
        STELLARSTREAM_CONTRACT_IDS=C,
        STELLARSTREAM_START_LEDGER="1",
        STELLARSTREAM_POLL_INTERVAL_SECONDS="0.1",
        STELLARSTREAM_RPC_PAGE_LIMIT="10",
        STELLARSTREAM_VAR_DIR=str(var_dir),
        STELLARSTREAM_STANDBY_POLL_SECONDS="0.2",
        **extra,
    )


def wait_for(
    predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> None:
    """Poll ``predicate`` until it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)
