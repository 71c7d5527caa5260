"""Settings: every knob is one ``STELLARSTREAM_*`` environment variable (or a line in ``.env``).

Secrets that are not set (``JWT_SECRET``, ``SIGNING_SECRET``, ``URI_REQUEST_SIGNING_KEY``,
``SECRETS_KEY``) are generated once and kept in ``VAR_DIR`` with mode 0600, so no installation
ever runs on a known default. Build settings with :func:`load_settings`; pass the object down,
never read env vars elsewhere.
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from stellar_sdk import Keypair, Network, StrKey

_SYNONYMS = {"1": "true", "yes": "true", "on": "true", "0": "false", "no": "false", "off": "false"}
"""Other spellings of a boolean setting given as text (as pydantic reads booleans)."""


class StellarNetwork(StrEnum):
    TESTNET = "testnet"
    MAINNET = "mainnet"
    FUTURENET = "futurenet"
    CUSTOM = "custom"


# passphrase, RPC, Horizon. Mainnet RPC comes from a provider: there is no SDF default.
NETWORK_DEFAULTS: dict[StellarNetwork, tuple[str, str | None, str | None]] = {
    StellarNetwork.TESTNET: (
        Network.TESTNET_NETWORK_PASSPHRASE,
        "https://soroban-testnet.stellar.org",
        "https://horizon-testnet.stellar.org",
    ),
    StellarNetwork.MAINNET: (
        Network.PUBLIC_NETWORK_PASSPHRASE,
        None,
        "https://horizon.stellar.org",
    ),
    StellarNetwork.FUTURENET: (
        Network.FUTURENET_NETWORK_PASSPHRASE,
        "https://rpc-futurenet.stellar.org",
        "https://horizon-futurenet.stellar.org",
    ),
}


DISABLED = frozenset({"none", "off"})

DATABASE_URL_FORMS = "sqlite:///path/to/file.db or postgresql+psycopg://user:password@host:5432/db"


_ANY_OR_LOOPBACK = frozenset({"", "0.0.0.0", "::", "127.0.0.1", "::1", "localhost"})  # noqa: S104


def public_url_for(host: str, port: int) -> str:
    """The base URL of a server bound to ``host``:``port`` as a browser on this machine reaches
    it: ``http://localhost:PORT`` for loopback and all-interfaces binds."""
    name = "localhost" if host in _ANY_OR_LOOPBACK else host
    if ":" in name:  # an IPv6 literal
        name = f"[{name}]"
    return f"http://{name}:{port}"


class Settings(BaseSettings):
    """All configuration of a StellarStream process."""

    model_config = SettingsConfigDict(
        env_prefix="STELLARSTREAM_", env_file=".env", extra="ignore", frozen=True
    )

    var_dir: Path = Path("var")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=1, le=65535)
    public_url: str = "http://localhost:3000"  # not set: from HOST and PORT (_default_public_url)
    log_level: str = "info"
    # auto: console lines when the log stream is a terminal, JSON lines otherwise
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$")

    network: StellarNetwork = StellarNetwork.TESTNET
    network_passphrase: str = ""
    rpc_url: str = ""
    horizon_url: str = ""
    contract_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    datalake_url: str = ""

    start_ledger: int | None = Field(default=None, ge=1)
    poll_interval_seconds: float = Field(default=5.0, gt=0, le=300)
    rpc_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    rpc_max_retries: int = Field(default=5, ge=0, le=20)
    # Each source's own HTTP settings (backoff: stellarstream.retry). Horizon's retries default to
    # RPC's (what sync used before they had their own).
    horizon_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    horizon_max_retries: int | None = Field(default=None, ge=0, le=20)
    datalake_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    datalake_max_retries: int = Field(default=3, ge=0, le=20)
    rpc_page_limit: int = Field(default=1000, ge=1, le=10_000)
    # A backfill asks for a node's largest page (RpcSource takes a lower maximum if the node
    # says so): requests near ceil(events / 10,000) + ceil(ledgers / 10,000).
    sync_page_limit: int = Field(default=10_000, ge=1, le=10_000)
    # Fetch and decode in a second process while this one stores (ingest.backfill.prefetch): "auto"
    # forks it on Linux with at least two CPUs to run on; true/false force it on or off.
    sync_worker: Literal["auto", "true", "false"] = "auto"
    # getEvents topics/values as XDR-JSON (decoded ~10x faster) or base64 XDR (older nodes)
    rpc_xdr_format: Literal["json", "base64"] = "json"
    protocol_fee_bps: int = Field(default=0, ge=0, le=10_000)
    standby_poll_seconds: float = Field(default=2.0, gt=0, le=60)

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    token_decimals: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    token_symbols: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    default_token_decimals: int = Field(default=7, ge=0, le=38)
    yield_default_apy_bps: int = Field(default=0, ge=0, le=100_000)
    yield_vault_apy_bps: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    live_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # /stats: serve a worker's last computed counts again while no event was stored and they are
    # at most this old (statuses change with the clock alone); 0: compute on every request.
    stats_max_age_seconds: float = Field(default=5.0, ge=0, le=3600)

    jwt_secret: SecretStr | None = None
    jwt_ttl_seconds: int = Field(default=86400, ge=60, le=30 * 86400)
    home_domain: str = ""
    signing_secret: SecretStr | None = None
    challenge_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    # Encrypts secrets kept in the database (webhook signing secrets): stellarstream.secretbox
    secrets_key: SecretStr | None = None

    # Payer experience (invoice page, SEP-7 transaction requests) and webhooks.
    uri_request_signing_key: SecretStr | None = None  # S... seed that signs SEP-7 URIs
    invoice_contract_id: str = ""  # V2 contract invoices are paid through (default: 1st id)
    invoice_start_margin_seconds: int = Field(default=300, ge=0, le=3600)
    # A payer's submission: how long POST .../submit waits for the ledger before answering
    # PENDING, how long the server keeps checking a pending transaction in the background, and
    # the time between two getTransaction polls.
    invoice_submit_wait_seconds: float = Field(default=12.0, ge=0, le=60)
    invoice_follow_seconds: float = Field(default=180.0, ge=0, le=3600)
    invoice_poll_seconds: float = Field(default=2.0, gt=0, le=60)
    walletconnect_project_id: str = ""  # WalletConnect Cloud project id: adds WalletConnect
    webhooks_allow_http_localhost: bool = False  # http://127.0.0.1 / localhost URLs (tests)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Retries like Stripe's: 30 s doubling up to 6 h between attempts, for up to 3 days.
    webhook_retry_initial_seconds: float = Field(default=30.0, gt=0, le=3600)
    webhook_retry_max_seconds: float = Field(default=21600.0, gt=0, le=86400)
    webhook_retry_window_seconds: float = Field(default=3 * 86400.0, gt=0, le=30 * 86400)
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    webhook_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    webhook_batch_size: int = Field(default=20, ge=1, le=500)
    webhook_concurrency: int = Field(default=4, ge=1, le=64)

    # Operations (deploy/, ops/): gunicorn, readiness, rate limits, the health monitor.
    api_workers: int = Field(default=0, ge=0, le=256)  # 0: one gunicorn worker per CPU core
    api_graceful_timeout_seconds: int = Field(default=5, ge=1, le=300)
    api_max_requests: int = Field(default=0, ge=0)  # recycle a worker after N requests (0: never)
    max_lag_ledgers: int = Field(default=100, ge=1)
    redis_url: SecretStr | None = None  # shared rate limits across workers and hosts
    redis_key_prefix: str = "stellarstream:"
    rate_limits_enabled: bool = True
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=86400)
    rate_limit_auth: int = Field(default=30, ge=1)  # requests per window per client
    rate_limit_writes: int = Field(default=120, ge=1)
    rate_limit_reads: int = Field(default=600, ge=1)
    monitor_interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    monitor_worker_max_rss_mb: float = Field(default=500.0, gt=0)
    monitor_indexer_max_rss_mb: float = Field(default=300.0, gt=0)
    monitor_cpu_percent: float = Field(default=90.0, gt=0)
    monitor_cpu_samples: int = Field(default=3, ge=1, le=1000)
    monitor_max_checkpoint_age_seconds: float = Field(default=600.0, gt=0)
    monitor_alert_repeat_seconds: float = Field(default=900.0, ge=0)
    alert_webhook_url: SecretStr | None = None
    alert_webhook_retries: int = Field(default=3, ge=0, le=10)
    alert_webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("token_decimals", "yield_vault_apy_bps", mode="before")
    @classmethod
    def _split_pairs(cls, value: Any) -> Any:
        """``C...:7,C...:6`` -> {"C...": 7, "C...": 6}."""
        if not isinstance(value, str):
            return value
        pairs: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            key, sep, number = part.partition(":")
            if not sep or not number.strip().isdigit():
                raise ValueError(f"{part!r} is not CONTRACT:NUMBER")
            pairs[key.strip()] = int(number)
        return pairs

    @field_validator("token_symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: Any) -> Any:
        """``C...:USDC,C...:EURC`` -> {"C...": "USDC", "C...": "EURC"}."""
        if not isinstance(value, str):
            return value
        pairs: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            key, sep, symbol = part.partition(":")
            if not sep or not 1 <= len(symbol.strip()) <= 32:
                raise ValueError(f"{part!r} is not CONTRACT:SYMBOL (a symbol of 1-32 characters)")
            pairs[key.strip()] = symbol.strip()
        return pairs

    @field_validator("contract_ids", "cors_origins", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("contract_ids")
    @classmethod
    def _check_ids(cls, value: list[str]) -> list[str]:
        for cid in value:
            if not StrKey.is_valid_contract(cid):
                raise ValueError(f"{cid!r} is not a contract id (C... StrKey)")
        return value

    @field_validator("sync_worker", mode="before")
    @classmethod
    def _on_off_or_auto(cls, value: Any) -> Any:
        """Booleans in the usual spellings, as one of the three words."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            word = value.strip().lower()
            return _SYNONYMS.get(word, word)
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        """A URL SQLAlchemy can parse, of a backend StellarStream runs on (the value itself is
        never repeated: it may hold a password)."""
        if not value:
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
            backend = url.get_backend_name()
        except (ArgumentError, ValueError):
            raise ValueError(f"not a database URL: expected {DATABASE_URL_FORMS}") from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(
                f"{backend!r} databases are not supported: expected {DATABASE_URL_FORMS}"
            )
        try:
            url.get_dialect()
        except ArgumentError:  # NoSuchModuleError: postgresql+nosuchdriver://
            raise ValueError(
                f"unknown driver {url.drivername!r}: expected {DATABASE_URL_FORMS}"
            ) from None
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("signing_secret", "uri_request_signing_key")
    @classmethod
    def _check_seed(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and not StrKey.is_valid_ed25519_secret_seed(value.get_secret_value()):
            name = f"STELLARSTREAM_{str(info.field_name).upper()}"
            raise ValueError(f"{name} is not a Stellar secret seed (S...)")
        return value

    @field_validator("secrets_key")
    @classmethod
    def _check_secrets_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from stellarstream.secretbox import check_key

            try:
                check_key(value.get_secret_value())
            except ValueError as exc:
                raise ValueError(f"STELLARSTREAM_SECRETS_KEY {exc}") from exc
        return value

    @field_validator("invoice_contract_id")
    @classmethod
    def _check_invoice_contract(cls, value: str) -> str:
        if value and not StrKey.is_valid_contract(value):
            raise ValueError(f"{value!r} is not a contract id (C... StrKey)")
        return value

    @model_validator(mode="after")
    def _default_public_url(self) -> Settings:
        """PUBLIC_URL not set: where this process is bound (HOST, PORT)."""
        if "public_url" not in self.model_fields_set:
            object.__setattr__(self, "public_url", public_url_for(self.host, self.port))
        return self

    def bound_to(self, host: str | None, port: int | None) -> Settings:
        """These settings served at ``host``:``port`` (the command line's ``--host``/``--port``,
        None: unchanged); a PUBLIC_URL that was not set follows them."""
        update: dict[str, Any] = {"host": host or self.host, "port": port or self.port}
        if "public_url" not in self.model_fields_set:
            update["public_url"] = public_url_for(update["host"], update["port"])
        copy = self.model_copy(update=update)
        if "public_url" not in self.model_fields_set:
            copy.model_fields_set.discard("public_url")  # still derived, not set
        return copy

    @model_validator(mode="after")
    def _network_defaults(self) -> Settings:
        if self.network is StellarNetwork.CUSTOM:
            if not self.network_passphrase:
                raise ValueError(
                    "STELLARSTREAM_NETWORK=custom needs STELLARSTREAM_NETWORK_PASSPHRASE"
                )
            return self._disable_sources()
        passphrase, rpc, horizon = NETWORK_DEFAULTS[self.network]
        # Frozen model: fill defaults through object.__setattr__ once, at construction.
        if not self.network_passphrase:
            object.__setattr__(self, "network_passphrase", passphrase)
        if not self.rpc_url and rpc:
            object.__setattr__(self, "rpc_url", rpc)
        if not self.horizon_url and horizon:
            object.__setattr__(self, "horizon_url", horizon)
        return self._disable_sources()

    def _disable_sources(self) -> Settings:
        # "none" turns a source off instead of falling back to the network's default endpoint.
        for name in ("rpc_url", "horizon_url", "datalake_url"):
            if getattr(self, name).strip().lower() in DISABLED:
                object.__setattr__(self, name, "")
        return self

    def decimals_of(self, token: str) -> int:
        """Display decimals of ``token`` (7 for Stellar Asset Contracts unless configured)."""
        return self.token_decimals.get(token, self.default_token_decimals)

    @property
    def web_auth_domain(self) -> str:
        """Host (and port) of PUBLIC_URL: where SEP-10 clients reach us."""
        return urlsplit(self.public_url).netloc

    @property
    def sep10_home_domain(self) -> str:
        """HOME_DOMAIN, defaulting to the host of PUBLIC_URL."""
        return self.home_domain or self.web_auth_domain

    @property
    def resolved_database_url(self) -> str:
        """The database URL; the default is an SQLite file inside ``var_dir``."""
        return self.database_url or f"sqlite:///{self.var_dir / 'stellarstream.db'}"

    @property
    def signing_keypair(self) -> Keypair:
        """The server's SEP-10 signing key."""
        assert self.signing_secret is not None, "load_settings() fills the signing secret"
        return Keypair.from_secret(self.signing_secret.get_secret_value())

    @property
    def uri_signing_keypair(self) -> Keypair:
        """The key that signs SEP-7 URIs (``URI_REQUEST_SIGNING_KEY`` in stellar.toml)."""
        assert self.uri_request_signing_key is not None, "load_settings() fills the URI key"
        return Keypair.from_secret(self.uri_request_signing_key.get_secret_value())

    @property
    def payment_contract_id(self) -> str | None:
        """The V2 contract a payer's ``create_stream`` calls: INVOICE_CONTRACT_ID or the first."""
        return self.invoice_contract_id or (self.contract_ids[0] if self.contract_ids else None)

    @property
    def secrets_key_value(self) -> str:
        """The key that encrypts secrets stored in the database."""
        assert self.secrets_key is not None, "load_settings() fills the secrets key"
        return self.secrets_key.get_secret_value()

    @property
    def jwt_key(self) -> str:
        assert self.jwt_secret is not None, "load_settings() fills the JWT secret"
        return self.jwt_secret.get_secret_value()


def _read_or_create_secret(path: Path, make: Any) -> str:
    """Return the secret kept in ``path``, creating it (mode 0600) the first time."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value: str = make()
    # O_EXCL: two processes starting at once must not both write (one would lose).
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def _new_secrets_key() -> str:
    from stellarstream.secretbox import new_key  # cryptography: only when a key is made

    return new_key()


def load_settings(*, generate_secrets: bool = True, **overrides: Any) -> Settings:
    """Read settings from the environment and fill unset secrets from (or into) ``var_dir``.

    ``generate_secrets=False`` (commands that only read the database) writes nothing: unset
    secrets stay unset.
    """
    settings = Settings(**overrides)
    if not generate_secrets:
        return settings
    updates: dict[str, Any] = {}
    if settings.jwt_secret is None:
        updates["jwt_secret"] = SecretStr(
            _read_or_create_secret(settings.var_dir / "jwt_secret", lambda: secrets.token_hex(32))
        )
    if settings.signing_secret is None:
        updates["signing_secret"] = SecretStr(
            _read_or_create_secret(
                settings.var_dir / "signing_secret", lambda: Keypair.random().secret
            )
        )
    if settings.uri_request_signing_key is None:
        updates["uri_request_signing_key"] = SecretStr(
            _read_or_create_secret(
                settings.var_dir / "uri_signing_secret", lambda: Keypair.random().secret
            )
        )
    if settings.secrets_key is None:
        updates["secrets_key"] = SecretStr(
            _read_or_create_secret(settings.var_dir / "secrets_key", _new_secrets_key)
        )
    if settings.database_url == "":
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    return settings.model_copy(update=updates) if updates else settings
