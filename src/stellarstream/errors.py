"""Typed errors. Every error carries a message a user can act on.

Hierarchy::

    StellarStreamError
    ├── ValidationError          bad input (422), names the field
    │   └── BadRequest           malformed input such as a tampered cursor (400)
    ├── AuthError                401: missing, expired, tampered or wrong-secret token
    ├── PermissionDenied         403
    ├── NotFound                 404
    ├── Conflict                 409: state does not allow the action (names allowed states)
    │   └── IndexerAlreadyRunning  a second live indexer on one SQLite database
    ├── RateLimited              429 (retryable)
    ├── WorkerFailed             the sync's worker process died or failed (no source can help)
    ├── SourceError              a chain data source failed
    │   ├── SourceUnavailable    unreachable / timed out / 5xx after retries (retryable)
    │   ├── RangeUnavailable     the range is outside what the source keeps
    │   │   └── LedgerNotInLake  a data lake has no object (or no entry) for the ledger
    │   ├── MalformedResponse    the source answered something we cannot parse
    │   ├── RpcError             Stellar RPC answered a JSON-RPC error (not retried)
    │   ├── MetaUnavailable      this Horizon keeps no transaction meta (so no events)
    │   ├── NotAToken            a contract answered, but not as a SEP-41 token does
    │   └── NoSourceCovers       no configured source can provide a ledger range (sync)
    ├── AccountNotFound          422: the payer's account was never funded (or was merged)
    ├── SimulationFailed         502: the node simulated the call and it failed
    ├── PayerCannotPay           422: the simulation says the payer cannot pay (balance, trustline)
    ├── NotPayable               409: only DRAFT and SIGNED invoice links can be paid
    ├── RpcFailed                502: the RPC answered, but nothing a transaction can be built from
    └── PaymentUnavailable       503: the RPC cannot serve a payment right now
        └── PaymentsNotConfigured  no payment contract or RPC configured

Domain errors become HTTP responses in one place (``api/errors.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stellarstream.db.invoice_status import InvoiceStatus


class StellarStreamError(Exception):
    """Base of all StellarStream errors."""

    code: str = "error"
    status_code: int = 500
    retryable: bool = False

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, field={self.field!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Picklable with its attributes whatever the subclass's __init__ takes (the sync's
        # worker process sends its source errors to the parent).
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(
    cls: type[StellarStreamError], args: tuple[object, ...], state: dict[str, object]
) -> StellarStreamError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ValidationError(StellarStreamError):
    code = "validation_error"
    status_code = 422


class BadRequest(ValidationError):
    code = "bad_request"
    status_code = 400


class AuthError(StellarStreamError):
    code = "unauthorized"
    status_code = 401


class PermissionDenied(StellarStreamError):
    code = "forbidden"
    status_code = 403


class NotFound(StellarStreamError):
    code = "not_found"
    status_code = 404


class Conflict(StellarStreamError):
    code = "conflict"
    status_code = 409


class RateLimited(StellarStreamError):
    code = "rate_limited"
    status_code = 429
    retryable = True

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SourceError(StellarStreamError):
    code = "source_error"
    status_code = 502


class SourceUnavailable(SourceError):
    code = "source_unavailable"
    retryable = True


class RangeUnavailable(SourceError):
    """The requested ledgers are outside what the source keeps."""

    code = "range_unavailable"

    def __init__(self, message: str, *, oldest_ledger: int, latest_ledger: int) -> None:
        super().__init__(message)
        self.oldest_ledger = oldest_ledger
        self.latest_ledger = latest_ledger


class MalformedResponse(SourceError):
    code = "malformed_response"
    retryable = True


# --- chain sources' own errors (chain/rpc.py, chain/horizon.py, chain/datalake.py) ---


class LedgerNotInLake(RangeUnavailable):
    """The lake lacks ``ledger``: no object holds it (HTTP 404 / no file), or its object does not.

    A lake has no bounds without a listing, so ``oldest_ledger``/``latest_ledger`` are 0 (unknown).
    """

    def __init__(self, message: str, *, ledger: int, key: str) -> None:
        super().__init__(message, oldest_ledger=0, latest_ledger=0)
        self.ledger = ledger
        self.key = key


class RpcError(SourceError):
    """The node answered a JSON-RPC error (not retried); ``rpc_code`` is its code."""

    code = "rpc_error"

    def __init__(self, message: str, *, rpc_code: int | None) -> None:
        super().__init__(message)
        self.rpc_code = rpc_code


class MetaUnavailable(SourceError):
    """This Horizon does not keep transaction meta, so it cannot provide contract events."""

    code = "meta_unavailable"

    def __init__(self, message: str, *, ledger: int) -> None:
        super().__init__(message)
        self.ledger = ledger


# --- contract calls and invoice payments ---


class NotAToken(SourceError):
    """The contract answered, but not as a SEP-41 token does."""


class AccountNotFound(StellarStreamError):
    """The account has no ledger entry: it was never funded (or was merged)."""

    code = "account_not_found"
    status_code = 422


class SimulationFailed(StellarStreamError):
    """The node simulated the call and it failed (the contract or host rejected it);
    ``error`` is the node's whole error text (the message keeps only its first line)."""

    code = "simulation_failed"
    status_code = 502

    def __init__(self, message: str, *, error: str = "") -> None:
        super().__init__(message)
        self.error = error


class PayerCannotPay(StellarStreamError):
    """The simulation says the payer's account cannot make this payment (balance, trustline)."""

    status_code = 422

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, field="payer")
        self.code = code


class NotPayable(StellarStreamError):
    """Only DRAFT and SIGNED links can be paid; ``status`` says what the link is."""

    code = "conflict"
    status_code = 409

    def __init__(self, status: InvoiceStatus) -> None:
        super().__init__(
            f"invoice link is {status.value}: only DRAFT or SIGNED links can be paid",
            field="status",
        )
        self.status = status


class RpcFailed(StellarStreamError):
    """The RPC answered, but not with something a transaction can be built from."""

    code = "rpc_error"
    status_code = 502


class PaymentUnavailable(StellarStreamError):
    """The RPC (or its configuration) cannot serve a transaction request right now."""

    code = "rpc_unavailable"
    status_code = 503


class PaymentsNotConfigured(PaymentUnavailable):
    """This server cannot take payments at all (no payment contract or no RPC configured): the
    payer is told to contact the issuer; the operator finds the setting in the log."""

    code = "payments_not_configured"

    def __init__(self) -> None:
        super().__init__("this invoice cannot be paid online yet: contact the issuer")


# --- ingestion's own errors (the live indexer's lock, the historical sync and its worker) ---


class IndexerAlreadyRunning(Conflict):
    """Another live indexer holds this SQLite database (PostgreSQL waits as a standby)."""

    code = "indexer_already_running"


class NoSourceCovers(SourceError):
    """No configured source could provide a ledger range."""

    code = "no_source_covers"

    def __init__(self, start: int, end: int, reasons: list[str]) -> None:
        detail = "; ".join(reasons) or "no source configured"
        super().__init__(
            f"no source could provide ledgers {start}-{end} ({detail}). Supply one: a data lake "
            "with --datalake URL_OR_DIR (or STELLARSTREAM_DATALAKE_URL), a Horizon that keeps "
            "transaction meta (STELLARSTREAM_HORIZON_URL), or an RPC whose retention covers it"
        )
        self.start = start
        self.end = end


class WorkerFailed(StellarStreamError):
    """The worker process died, or failed with an error that is not a source's.

    Not a :class:`SourceError`: no other source can help, so the sync stops (and resumes from
    its last commit when run again)."""

    code = "sync_worker_failed"
