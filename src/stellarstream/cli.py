"""The ``stellarstream`` command line."""

# Longer than 450 lines: every command's options, usage checks and exit codes, read together;
# what a command runs lives elsewhere (ingest.wiring, api.app, ops).

from __future__ import annotations

import dataclasses
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import structlog
import typer
from pydantic import ValidationError as SettingsError
from rich.console import Console
from rich.markup import escape

from stellarstream.config import Settings, load_settings
from stellarstream.db import migrate
from stellarstream.db.engine import make_engine
from stellarstream.ops.logging import configure_logging

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(
    help="StellarStream: index a Soroban streaming contract and serve it over HTTP.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
sync_app = typer.Typer(help="Backfill ledger ranges (historical sync).")
app.add_typer(sync_app, name="sync")
err = Console(stderr=True)
log = structlog.get_logger("stellarstream")


def _configuration_error(name: str, message: str) -> typer.Exit:
    """Print the one line every bad setting gets; the caller raises the returned exit (2)."""
    message = message.removeprefix("Value error, ")  # pydantic's prefix for a validator's text
    err.print(
        f"[red]configuration error[/red] {name}: {escape(message)}",
        highlight=False,
        soft_wrap=True,  # one line, however narrow the terminal
    )
    return typer.Exit(2)


def _settings(*, logs_to_stderr: bool = False, generate_secrets: bool = True) -> Settings:
    try:
        settings = load_settings(generate_secrets=generate_secrets)
    except SettingsError as exc:
        for error in exc.errors():
            name = "STELLARSTREAM_" + "_".join(str(p) for p in error["loc"]).upper()
            _configuration_error(name, error["msg"])
        raise typer.Exit(2) from exc
    configure_logging(
        settings.log_level, settings.log_format, sys.stderr if logs_to_stderr else sys.stdout
    )
    return settings


DATABASE_SETTING = "STELLARSTREAM_DATABASE_URL"


def _connection_problem(exc: BaseException) -> str:
    """The driver's own first line, e.g. ``database "x" does not exist`` (never the URL)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    text = re.sub(r"^(connection failed: )", "", text)
    text = re.sub(r"^FATAL:\s+", "", text)
    return re.sub(r"\s+", " ", text)


def _sqlite_file(settings: Settings) -> Path | None:
    """The SQLite database file of the settings (None: PostgreSQL or in memory)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


@contextmanager
def _database(settings: Settings) -> Iterator[Engine]:
    """An engine on the configured database, connected once first: a database that cannot be
    reached, or does not exist, is one ``configuration error`` line (exit 2), no traceback."""
    from sqlalchemy.exc import DBAPIError

    try:
        engine = make_engine(settings.resolved_database_url)
    except OSError as exc:  # the SQLite file's folder cannot be made
        raise _configuration_error(
            DATABASE_SETTING, f"cannot create the SQLite file's folder: {exc.strerror}"
        ) from None
    try:
        try:
            with engine.connect():
                pass
        except DBAPIError as exc:
            backend = engine.dialect.name
            where = "PostgreSQL" if backend == "postgresql" else "SQLite"
            raise _configuration_error(
                DATABASE_SETTING, f"cannot connect to {where}: {_connection_problem(exc)}"
            ) from None
        yield engine
    finally:
        engine.dispose()


def _upgrade(settings: Settings) -> None:
    with _database(settings) as engine:
        if migrate.upgrade_if_behind(engine, secrets_key=settings.secrets_key_value):
            log.info("database_migrated", revision=migrate.current_revision(engine))
        else:
            log.info("database_at_head", revision=migrate.HEAD)


def _serve_api(settings: Settings, host: str | None, port: int | None) -> None:
    import uvicorn  # here: the other commands need neither it nor its ~3 MB

    from stellarstream.api.app import create_app

    class Server(uvicorn.Server):
        """uvicorn, but a handled SIGINT/SIGTERM ends in a clean exit 0, not re-raised."""

        def capture_signals(self) -> Any:
            self._captured_signals: list[int] = []
            return super().capture_signals()

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals = []

    settings = settings.bound_to(host, port)  # share links follow --port (PUBLIC_URL unset)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=5,
        proxy_headers=True,
    )
    log.info(
        "api_starting",
        url=f"http://{config.host}:{config.port}",
        public_url=settings.public_url,
        docs="/docs",
    )
    Server(config).run()


HostOpt = Annotated[str | None, typer.Option(help="Bind address (default STELLARSTREAM_HOST)")]
PortOpt = Annotated[int | None, typer.Option(help="Port (default STELLARSTREAM_PORT)")]


@app.command()
def up(host: HostOpt = None, port: PortOpt = None) -> None:
    """Migrate, then run the API, the indexer and the webhook worker (Ctrl-C stops them)."""
    from stellarstream.ops.supervise import ChildProcess, stellarstream_command

    settings = _settings()
    _upgrade(settings)
    outbox_worker = ChildProcess("webhooks", stellarstream_command("webhooks"))
    outbox_worker.start()
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
        outbox_worker.stop()
        if indexer is not None:
            indexer.stop()


@app.command()
def indexer() -> None:
    """Run the live indexer: follow the chain from the checkpoint (SIGTERM stops it cleanly)."""
    from stellarstream.ingest.wiring import run_indexer

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
def webhooks() -> None:
    """Run the webhook worker: deliver queued events, retried for 3 days (SIGTERM stops it)."""
    from stellarstream.webhooks.worker import run_worker

    settings = _settings()
    _upgrade(settings)
    raise typer.Exit(run_worker(settings))


@app.command()
def api(host: HostOpt = None, port: PortOpt = None) -> None:
    """Migrate the database, then run only the API."""
    settings = _settings()
    _upgrade(settings)
    _serve_api(settings, host, port)


@app.command()
def monitor(
    ticks: Annotated[int, typer.Option(help="Stop after N samples (0: run until SIGTERM)")] = 0,
    once: Annotated[bool, typer.Option("--once", help="One sample, then exit")] = False,
    interval: Annotated[
        float | None, typer.Option(help="Seconds between samples (default from settings)")
    ] = None,
    watch_api: Annotated[bool, typer.Option("--api/--no-api", help="Watch gunicorn")] = True,
    watch_indexer: Annotated[
        bool | None,
        typer.Option("--indexer/--no-indexer", help="Watch the indexer (default: if configured)"),
    ] = None,
) -> None:
    """Health monitor: sample the API workers and the indexer, replace bloated ones, alert."""
    from stellarstream.ops.monitor import run_monitor

    settings = _settings()
    raise typer.Exit(
        run_monitor(
            settings,
            ticks=1 if once else ticks,
            interval=interval,
            api=watch_api,
            indexer=watch_indexer,
        )
    )


class Source(StrEnum):
    RPC = "rpc"
    HORIZON = "horizon"
    DATALAKE = "datalake"


@sync_app.callback(invoke_without_command=True)
def sync(
    ctx: typer.Context,
    from_ledger: Annotated[
        int | None, typer.Option("--from", help="First ledger (inclusive)")
    ] = None,
    to_ledger: Annotated[int | None, typer.Option("--to", help="Last ledger (inclusive)")] = None,
    horizon: Annotated[
        bool, typer.Option("--horizon", help="Force Horizon (as --source horizon)")
    ] = False,
    source: Annotated[Source | None, typer.Option(help="Source to use first")] = None,
    datalake: Annotated[
        str | None, typer.Option(help="SEP-54 data lake: https URL or folder")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary")] = False,
) -> None:
    """Backfill ``--from``..``--to`` (idempotent, resumable): RPC, then Horizon, then a lake."""
    if ctx.invoked_subcommand is not None:
        return
    import json

    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    from stellarstream.errors import StellarStreamError, ValidationError
    from stellarstream.ingest.backfill.sync import validate_range
    from stellarstream.ingest.wiring import missing_setting, run_sync

    # Usage errors first, before any setting, database or network is touched: exit 2.
    if from_ledger is None or to_ledger is None:
        err.print("[red]error[/red] --from and --to are required (e.g. --from 1000 --to 2000)")
        raise typer.Exit(2)
    try:
        validate_range(from_ledger, to_ledger, None)  # the latest ledger is checked later
    except ValidationError as exc:
        err.print(f"[red]error[/red] {escape(exc.message)}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    settings = _settings(logs_to_stderr=True)
    if not settings.contract_ids:
        err.print("[red]error[/red] no contracts to sync: set STELLARSTREAM_CONTRACT_IDS=C...")
        raise typer.Exit(2)
    forced = Source.HORIZON.value if horizon else (source.value if source else None)
    setting = missing_setting(settings, forced, datalake)
    if setting is not None:
        err.print(
            f"[red]error[/red] --source {forced} is not configured (set {setting})",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    _upgrade(settings)
    progress = Progress(
        TextColumn("[bold]sync[/bold]"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} ledgers"),
        TextColumn("{task.fields[lps]:,.0f} ledgers/s {task.fields[eps]:,.0f} events/s"),
        TimeRemainingColumn(),
        console=err,
        disable=as_json or not err.is_terminal,
    )
    started = time.monotonic()
    counts = {"events": 0}

    def factory(total: int) -> Any:
        task = progress.add_task("sync", total=total, lps=0, eps=0)

        def advance(ledgers: int, events: int) -> None:
            counts["events"] += events
            elapsed = max(time.monotonic() - started, 1e-6)
            progress.update(task, advance=ledgers)
            done = progress.tasks[0].completed
            progress.update(task, lps=done / elapsed, eps=counts["events"] / elapsed)

        return advance

    try:
        with progress:
            summary = run_sync(
                settings,
                from_ledger,
                to_ledger,
                forced=forced,
                datalake=datalake,
                progress_factory=factory,
            )
    except StellarStreamError as exc:
        if as_json:
            typer.echo(json.dumps({"error": {"code": exc.code, "message": exc.message}}))
        err.print(f"[red]sync failed[/red] {escape(exc.message)}", highlight=False)
        # A range the network does not have yet (--to beyond its latest ledger) is a usage
        # error too (2); a source that fails is 1.
        raise typer.Exit(2 if isinstance(exc, ValidationError) else 1) from exc
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(summary)))
    else:
        used = ", ".join(sorted({str(r["source"]) for r in summary.subranges})) or "nothing new"
        err.print(
            f"synced ledgers {summary.start}-{summary.end}: {summary.events} events "
            f"({summary.new} new, {summary.duplicate} already stored, "
            f"{summary.undecoded} undecoded) in {summary.seconds}s via {used}"
        )


def _require_database_file(settings: Settings) -> None:
    """Commands that read a database do not create an SQLite file that is not there."""
    sqlite_file = _sqlite_file(settings)
    if sqlite_file is not None and not sqlite_file.exists():
        raise _configuration_error(
            DATABASE_SETTING,
            f"no SQLite database at {sqlite_file} (`stellarstream db upgrade` creates it)",
        )


@sync_app.command("status")
def sync_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Per contract and source: the ledger ranges stored, and the gaps between them."""
    import json

    from rich.table import Table

    from stellarstream.db import coverage
    from stellarstream.db.engine import make_sessionmaker

    settings = _settings(logs_to_stderr=True, generate_secrets=False)
    _require_database_file(settings)
    with _database(settings) as engine, make_sessionmaker(engine)() as session:
        ranges = coverage.by_source(session)
        everything = {c: coverage.covered(session, c) for c in {c for c, _ in ranges}}
    rows = []
    for (contract, source), covered in sorted(ranges.items()):
        rows.append({"contract": contract, "source": source, "covered": covered})
    gaps = {c: coverage.gaps(r, r[0][0], r[-1][1]) if r else [] for c, r in everything.items()}
    if as_json:
        typer.echo(json.dumps({"ranges": rows, "gaps": gaps}))
        return
    table = Table(title="sync coverage")
    for column in ("contract", "source", "covered ledgers", "gaps (all sources)"):
        table.add_column(column)
    for row in rows:
        covered_text = ", ".join(f"{a}-{b}" for a, b in row["covered"])
        gap_text = ", ".join(f"{a}-{b}" for a, b in gaps[str(row["contract"])]) or "none"
        table.add_row(str(row["contract"]), str(row["source"]), covered_text, gap_text)
    Console().print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all pending migrations."""
    _upgrade(_settings())


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision and the newest one."""
    settings = _settings(logs_to_stderr=True, generate_secrets=False)
    sqlite_file = _sqlite_file(settings)
    if sqlite_file is not None and not sqlite_file.exists():
        # Not created by looking: there is no database yet, so no revision.
        err.print(
            f"no SQLite database at {sqlite_file} yet (`stellarstream db upgrade` creates it)",
            highlight=False,
        )
        typer.echo(f"current: None  head: {migrate.head_revision()}")
        return
    with _database(settings) as engine:
        current = migrate.current_revision(engine)
    typer.echo(f"current: {current}  head: {migrate.head_revision()}")


@db_app.command("recount")
def db_recount() -> None:
    """Recount the /stats totals from the streams table (after loading or editing rows by hand;
    the indexer keeps them in step otherwise)."""
    from stellarstream.db.engine import make_sessionmaker
    from stellarstream.projection import totals
    from stellarstream.streams.totals import figures

    settings = _settings(logs_to_stderr=True, generate_secrets=False)
    _require_database_file(settings)
    with _database(settings) as engine, make_sessionmaker(engine)() as session, session.begin():
        totals.rebuild(session)
        rows = figures(session, 0, ())
    typer.echo(f"recounted {sum(rows.counts.values())} streams in {len(rows.tokens)} tokens")


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
