"""``TokenDirectory``: each token's symbol, name and decimals for people to read amounts by.

Where a value comes from, first that applies:

1. the operator's settings (``STELLARSTREAM_TOKEN_DECIMALS``, ``STELLARSTREAM_TOKEN_SYMBOLS``);
2. the ``token_metadata`` table: what the token contract said of itself (``tokens/contract.py``),
   read once and again after :data:`REFRESH`;
3. nothing known: the short address as its label and ``STELLARSTREAM_DEFAULT_TOKEN_DECIMALS``.

Reads from memory never do I/O (the streams API calls :meth:`known` on the event loop): the
snapshot of the table is reloaded by :meth:`refresh`, which the API runs in the background and
which also reads, from the chain, tokens that streams or invoice links use and the table lacks.
Pages call :meth:`lookup`, which reads a missing token at once. An RPC that cannot be reached, or
a contract that is not a token, leaves the short address and one log line: never a failed page.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from stellar_sdk import Asset

from stellarstream.chain.addresses import short
from stellarstream.chain.horizon import HorizonClient
from stellarstream.chain.soroban import ContractRpc, contract_rpc
from stellarstream.clock import Clock
from stellarstream.config import Settings
from stellarstream.db.models import InvoiceLink, StreamTotal, TokenMetadata
from stellarstream.errors import NotAToken, SourceError
from stellarstream.tokens.contract import ChainToken, classic_issuer, read_token

__all__ = ["TokenDirectory", "TokenInfo"]

log = structlog.get_logger(__name__)

REFRESH = timedelta(days=7)
"""A token's metadata is read again after this long (it almost never changes)."""
RECHECK = timedelta(days=1)
"""A contract found not to be a token is asked again after this long (it may be deployed
or upgraded since)."""
RETRY_SECONDS = 300.0
"""After a failed read (RPC down), the token is not asked for again for this long."""
PER_PASS = 20
"""At most this many tokens read from the chain per background pass."""
RPC_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What a person reads an amount of ``address`` by."""

    address: str
    symbol: str | None
    name: str | None
    decimals: int
    home_domain: str | None = None

    @property
    def label(self) -> str:
        """The symbol, else the short address (``CBMO…YKMI``)."""
        return self.symbol or short(self.address)

    def document(self) -> dict[str, object]:
        """The API's ``tokenInfo`` object."""
        return {
            "address": self.address,
            "symbol": self.symbol,
            "name": self.name,
            "decimals": self.decimals,
            "homeDomain": self.home_domain,
        }


class TokenDirectory:
    """Token metadata for this process: settings over the table over nothing known."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        clock: Clock,
        *,
        rpc_factory: Callable[[], ContractRpc] | None = None,
        home_domain_of: Callable[[str], str | None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        self._rpc_factory = rpc_factory or self._default_rpc
        self._home_domain_of = home_domain_of or self._horizon_home_domain
        self._monotonic = monotonic
        self._native = Asset.native().contract_id(settings.network_passphrase)
        self._rows: dict[str, TokenMetadata] = {}
        self._documents: dict[str, dict[str, object]] = {}  # of this snapshot, by address
        self._failed: dict[str, float] = {}  # address -> when its last read failed
        self._lock = threading.Lock()

    def _default_rpc(self) -> ContractRpc:
        # Pages and the background pass never wait on a slow node: no retries.
        return contract_rpc(self._settings, timeout=RPC_TIMEOUT_SECONDS, max_retries=0)

    def _horizon_home_domain(self, issuer: str) -> str | None:
        """The issuer account's ``home_domain`` from Horizon, when one is configured."""
        if not self._settings.horizon_url:
            return None
        horizon = HorizonClient(
            self._settings.horizon_url, timeout=RPC_TIMEOUT_SECONDS, max_retries=0
        )
        try:
            domain = horizon.get(f"/accounts/{issuer}").get("home_domain")
        except SourceError:
            return None
        finally:
            horizon.close()
        return domain if isinstance(domain, str) and domain else None

    # --- reading (memory only) ---

    def known(self, address: str) -> TokenInfo:
        """What is known of ``address`` now, from memory (no I/O)."""
        settings = self._settings
        stored = self._rows.get(address)
        row = stored if stored is not None and stored.is_token else None
        if address == self._native:
            symbol: str | None = "XLM"
            name: str | None = "Stellar Lumens"
        else:
            symbol, name = (row.symbol, row.name) if row is not None else (None, None)
        symbol = settings.token_symbols.get(address, symbol)
        if address in settings.token_decimals:
            decimals = settings.token_decimals[address]
        elif row is not None and row.decimals is not None:
            decimals = row.decimals
        else:
            decimals = settings.default_token_decimals
        home = row.home_domain if row is not None else None
        return TokenInfo(address, symbol, name, decimals, home)

    def document(self, address: str) -> dict[str, object]:
        """:meth:`known`'s ``tokenInfo`` JSON, built once per snapshot (every stream read
        asks; callers must not change it)."""
        found = self._documents.get(address)
        if found is None:
            found = self._documents[address] = self.known(address).document()
        return found

    def stored_tokens(self) -> list[str]:
        """Addresses the table knows as tokens (as of the last reload)."""
        return [address for address, row in self._rows.items() if row.is_token]

    # --- filling (database, chain) ---

    def lookup(self, addresses: Iterable[str]) -> dict[str, TokenInfo]:
        """:meth:`known` of each address, after reading those the table lacks (or holds too
        long) from the chain. For pages: this may take an RPC round trip per missing token."""
        wanted = list(dict.fromkeys(addresses))
        missing = [a for a in wanted if self._due(a)]
        if missing:
            self._load()
            missing = [a for a in missing if self._due(a)]
        if missing:
            self._read_from_chain(missing)
        return {a: self.known(a) for a in wanted}

    def refresh(self) -> None:
        """Reload the table into memory, then read (at most :data:`PER_PASS`) tokens in use
        that it lacks. The API runs this in the background every few seconds."""
        self._load()
        with self._sessions() as session:
            used = session.scalars(
                union(
                    select(StreamTotal.token.label("token")).distinct(),
                    select(InvoiceLink.token_address.label("token")).distinct(),
                )
            ).all()
        missing = [a for a in used if self._due(a)][:PER_PASS]
        if missing:
            self._read_from_chain(missing)

    def _load(self) -> None:
        with self._sessions() as session:
            rows = {row.contract_id: row for row in session.scalars(select(TokenMetadata))}
            session.expunge_all()
        self._rows = rows  # one assignment: readers see the old snapshot or the new one
        self._documents = {}

    def _due(self, address: str) -> bool:
        if address == self._native or not self._settings.rpc_url:
            return False
        failed = self._failed.get(address)
        if failed is not None and self._monotonic() - failed < RETRY_SECONDS:
            return False
        row = self._rows.get(address)
        if row is None:
            return True
        return self._clock() - row.checked_at >= (REFRESH if row.is_token else RECHECK)

    def _read_from_chain(self, addresses: list[str]) -> None:
        with self._lock:  # one reader at a time per process
            try:
                rpc = self._rpc_factory()
            except Exception as exc:  # a bad RPC URL: say so, show addresses
                log.warning("token_metadata_unavailable", reason=str(exc))
                return
            try:
                for address in addresses:
                    self._read_one(rpc, address)
            finally:
                rpc.close()

    def _read_one(self, rpc: ContractRpc, address: str) -> None:
        try:
            token: ChainToken | None = read_token(rpc, address, self._settings.network_passphrase)
        except NotAToken as exc:
            token = None
            log.warning("token_metadata_not_a_token", token=address, reason=exc.message)
        except SourceError as exc:
            self._failed[address] = self._monotonic()
            log.warning("token_metadata_unavailable", token=address, reason=exc.message)
            return
        issuer = classic_issuer(token) if token is not None else None
        home = self._home_domain_of(issuer) if issuer else None
        self._store(address, token, home)
        self._failed.pop(address, None)

    def _store(self, address: str, token: ChainToken | None, home_domain: str | None) -> None:
        now: datetime = self._clock()
        try:
            with self._sessions.begin() as session:
                row = session.get(TokenMetadata, address) or TokenMetadata(contract_id=address)
                row.is_token = token is not None
                row.symbol = token.symbol if token else None
                row.name = token.name if token else None
                row.decimals = token.decimals if token else None
                row.home_domain = home_domain
                row.checked_at = now
                session.add(row)
        except IntegrityError:
            pass  # another worker stored it first: the same answer
        self._load()
