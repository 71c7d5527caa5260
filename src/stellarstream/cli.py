"""The ``stellarstream`` command line."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Annotated, Any

import structlog
import typer
import uvicorn
from pydantic import ValidationError as SettingsError
from rich.console import Console

from stellarstream.config import Settings, load_settings
from stellarstream.db import migrate
from stellarstream.db.engine import make_engine
from stellarstream.ops.logging import configure_logging

app = typer.Typer(
    help="StellarStream: index a Soroban streaming contract and serve it over HTTP.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
err = Console(stderr=True)
log = structlog.get_logger("stellarstream")


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        for error in exc.errors():
            name = "STELLARSTREAM_" + "_".join(str(p) for p in error["loc"]).upper()
            err.print(f"[red]configuration error[/red] {name}: {error['msg']}")
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _upgrade(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate.upgrade(engine)
        log.info("database_migrated", revision=migrate.current_revision(engine))
    finally:
        engine.dispose()


class _Server(uvicorn.Server):
    """uvicorn, but a handled SIGINT/SIGTERM ends in a clean exit 0 instead of being re-raised."""

    def capture_signals(self) -> Any:
        self._captured_signals: list[int] = []
        return super().capture_signals()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals = []


def _serve_api(settings: Settings, host: str | None, port: int | None) -> None:
    from stellarstream.api.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        timeout_graceful_shutdown=5,
        proxy_headers=True,
    )
    log.info("api_starting", url=f"http://{config.host}:{config.port}", docs="/docs")
    _Server(config).run()


HostOpt = Annotated[str | None, typer.Option(help="Bind address (default STELLARSTREAM_HOST)")]
PortOpt = Annotated[int | None, typer.Option(help="Port (default STELLARSTREAM_PORT)")]


@app.command()
def up(host: HostOpt = None, port: PortOpt = None) -> None:
    """Migrate, then run the API and the indexer in the foreground (Ctrl-C stops both)."""
    from stellarstream.ops.supervise import ChildProcess, stellarstream_command

    settings = _settings()
    _upgrade(settings)
    indexer = None
    if settings.contract_ids:
        indexer = ChildProcess("indexer", stellarstream_command("indexer"))
        indexer.start()
    else:
        log.warning(
            "indexer_not_started",
            reason="no contracts configured: set STELLARSTREAM_CONTRACT_IDS to index a contract",
        )
    try:
        _serve_api(settings, host, port)
    finally:
        if indexer is not None:
            indexer.stop()


@app.command()
def indexer() -> None:
    """Run the live indexer: follow the chain from the checkpoint (SIGTERM stops it cleanly)."""
    from stellarstream.ingest.runner import run_indexer

    settings = _settings()
    if not settings.contract_ids:
        err.print("[red]error[/red] no contracts to index: set STELLARSTREAM_CONTRACT_IDS=C...")
        raise typer.Exit(2)
    if not settings.rpc_url:
        err.print(
            f"[red]error[/red] no RPC endpoint for network {settings.network.value}: "
            "set STELLARSTREAM_RPC_URL (mainnet RPC comes from a provider)"
        )
        raise typer.Exit(2)
    _upgrade(settings)
    raise typer.Exit(run_indexer(settings))


@app.command()
def api(host: HostOpt = None, port: PortOpt = None) -> None:
    """Migrate the database, then run only the API."""
    settings = _settings()
    _upgrade(settings)
    _serve_api(settings, host, port)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all pending migrations."""
    _upgrade(_settings())


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision and the newest one."""
    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        current = migrate.current_revision(engine)
    finally:
        engine.dispose()
    typer.echo(f"current: {current}  head: {migrate.head_revision()}")


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Option("-m", "--message")]) -> None:
    """Autogenerate a migration from the models (for developers; review the file it writes)."""
    import tempfile
    from pathlib import Path

    from alembic import command

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'autogen.db'}")
        try:
            migrate.upgrade(engine)
            command.revision(migrate.alembic_config(engine), message=message, autogenerate=True)
        finally:
            engine.dispose()


def main() -> None:  # pragma: no cover - console entry for `python -m stellarstream`
    sys.exit(app())
