"""A payer's transaction for an invoice link, checked against the chain before any status moves.

Two ways in, both public (the slug is the capability), neither trusting the caller:

* :meth:`Submissions.submit` (``POST .../submit {signedXdr}``): the envelope must be, byte for
  byte, a transaction the server prepared for this link (its hash is looked up among
  ``payment_requests``; otherwise each differing field is named) and must carry the payer's valid
  signature. Only then is it sent (``sendTransaction``); when the RPC accepts it the link becomes
  SIGNED with that hash, and the server waits a bounded time for the ledger. A FAILED result
  (or an ERROR answer) returns the link to payable with the reason recorded. The same envelope
  again is idempotent (the RPC answers DUPLICATE; a COMPLETED link answers at once).
* :meth:`Submissions.report` (``POST .../submitted {txHash}``, wallets that submit themselves):
  SIGNED only once ``getTransaction`` shows the hash as a successful ``create_stream`` paying
  this invoice (memo = slug, the invoice contract, its receiver, token, amount, duration). Not
  on the network yet: 202, and ``invoices/followers.py`` checks again in the background for
  ``INVOICE_FOLLOW_SECONDS``. A random hash changes nothing.

COMPLETED still comes only from the indexer (a ``create_v2`` with memo = slug), or from the
issuer's explicit word (recorded as ``completed_by = "issuer"``).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from stellar_sdk import (
    FeeBumpTransactionEnvelope,
    Network,
    TransactionBuilder,
    TransactionEnvelope,
)

from stellarstream.chain.results import describe
from stellarstream.chain.soroban import ContractRpc, Landed, contract_rpc
from stellarstream.clock import Clock
from stellarstream.config import Settings
from stellarstream.db.models import InvoiceLink, PaymentRequest
from stellarstream.errors import (
    Conflict,
    NotFound,
    NotPayable,
    PaymentUnavailable,
    RpcFailed,
    SourceError,
    SourceUnavailable,
    ValidationError,
)
from stellarstream.invoices.lifecycle import InvoiceStatus, effective_status
from stellarstream.invoices.payment import PaymentRequests, require_payments_configured
from stellarstream.invoices.verify import differences, invoice_mismatch, signed_by
from stellarstream.webhooks.outbox import enqueue_status_change

log = structlog.get_logger(__name__)

TX_HASH = re.compile(r"^[0-9a-fA-F]{64}$")
CAS_ATTEMPTS = 5

NETWORK_NAMES = {
    Network.PUBLIC_NETWORK_PASSPHRASE: "the public network (mainnet)",
    Network.TESTNET_NETWORK_PASSPHRASE: "testnet",
    Network.FUTURENET_NETWORK_PASSPHRASE: "futurenet",
}

Outcome = Literal["PENDING", "SUCCESS", "FAILED"]
T = TypeVar("T")


class SubmissionConflict(Conflict):
    """The link cannot take this submission; ``status`` is what it is."""

    def __init__(self, message: str, status: InvoiceStatus) -> None:
        super().__init__(message, field="status")
        self.status = status


class NotThisPayment(ValidationError):
    """The transaction is not one that pays this link (422 naming what differs)."""


@dataclass(frozen=True, slots=True)
class Submission:
    """What became of a submitted transaction: PENDING (accepted, not in a ledger yet),
    SUCCESS (in a ledger; the indexer completes the link), FAILED (``reason``; payable again)."""

    tx_hash: str
    status: Outcome
    reason: str | None
    link: InvoiceLink


def network_name(passphrase: str) -> str:
    return NETWORK_NAMES.get(passphrase, f"the network {passphrase!r}")


def _parse(signed_xdr: object, passphrase: str) -> TransactionEnvelope:
    if not isinstance(signed_xdr, str) or not signed_xdr.strip():
        raise ValidationError("signedXdr must be a base64 TransactionEnvelope", field="signedXdr")
    try:
        envelope = TransactionBuilder.from_xdr(signed_xdr.strip(), passphrase)
    except Exception as exc:  # XDR decoding raises assorted errors
        raise ValidationError(
            "signedXdr is not a base64 TransactionEnvelope", field="signedXdr"
        ) from exc
    if isinstance(envelope, FeeBumpTransactionEnvelope):
        raise NotThisPayment(
            "signedXdr is a fee-bump transaction: submit the signed transaction itself",
            field="signedXdr",
        )
    return envelope


def _landed_envelope(landed: Landed, passphrase: str) -> TransactionEnvelope | None:
    if landed.envelope_xdr is None:
        return None
    try:
        envelope = TransactionBuilder.from_xdr(landed.envelope_xdr, passphrase)
    except Exception:
        return None
    if isinstance(envelope, FeeBumpTransactionEnvelope):
        return envelope.transaction.inner_transaction_envelope
    return envelope


def _signature_problem(envelope: TransactionEnvelope, payer: str, passphrase: str) -> str | None:
    if signed_by(envelope, payer):
        return None
    if not envelope.signatures:
        return "signedXdr has no signature: sign it with the paying account"
    for other, name in NETWORK_NAMES.items():
        if other == passphrase:
            continue
        elsewhere = TransactionEnvelope(envelope.transaction, other, envelope.signatures)
        if signed_by(elsewhere, payer):
            return (
                f"signedXdr was signed for {name}, but this invoice is on "
                f"{network_name(passphrase)}: switch the wallet's network and sign again"
            )
    return f"signedXdr is not signed by the paying account {payer}"


class Submissions:
    """Submit and report payers' transactions for invoice links (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        clock: Clock,
        *,
        rpc_factory: Callable[[], ContractRpc] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        self._payments = PaymentRequests(settings, sessions, clock, rpc_factory=rpc_factory)
        self._rpc_factory = rpc_factory or (lambda: contract_rpc(settings))
        self._sleep = sleep

    # --- POST .../submit ---

    def submit(self, slug: str, signed_xdr: object) -> Submission:
        """Check ``signed_xdr`` against what was prepared for ``slug``, then send it."""
        passphrase = self._settings.network_passphrase
        envelope = _parse(signed_xdr, passphrase)
        link = self._payments.link(slug)
        tx_hash = envelope.hash_hex()
        prepared = self._prepared(link, envelope)
        problem = _signature_problem(envelope, prepared.payer, passphrase)
        if problem is not None:
            raise NotThisPayment(problem, field="signedXdr")
        now = self._clock()
        current = effective_status(link.status, link.expires_at, now)
        if link.tx_hash == tx_hash and current is InvoiceStatus.COMPLETED:
            return Submission(tx_hash, "SUCCESS", None, link)
        if current not in (InvoiceStatus.DRAFT, InvoiceStatus.SIGNED):
            # Before the time bounds: an expired link's transactions have always expired too.
            raise NotPayable(current)
        if prepared.valid_until <= now:
            raise NotThisPayment(
                f"this transaction expired at {prepared.valid_until.isoformat()}: "
                "request a new one",
                field="signedXdr",
            )
        with self._rpc() as rpc:
            if current is InvoiceStatus.SIGNED and link.tx_hash not in (None, tx_hash):
                self._release(rpc, link, now)
            sent = self._call(lambda: rpc.send(envelope))
            if sent.status == "TRY_AGAIN_LATER":
                raise PaymentUnavailable(
                    "the network is busy and asked to try again later; nothing was sent"
                )
            if sent.status == "ERROR":
                reason = describe(sent.error_result_xdr)
                link = self._failed(slug, tx_hash, reason, verified=True)
                log.info("invoice_payment_rejected", slug=slug, tx_hash=tx_hash, reason=reason)
                return Submission(tx_hash, "FAILED", reason, link)
            link = self._signed(slug, tx_hash)
            log.info("invoice_payment_sent", slug=slug, tx_hash=tx_hash, status=sent.status)
            return self._wait(rpc, slug, tx_hash, self._settings.invoice_submit_wait_seconds)

    def _prepared(self, link: InvoiceLink, envelope: TransactionEnvelope) -> PaymentRequest:
        """The prepared request ``envelope`` is, or a 422 naming how it differs from the last
        one prepared for its source account (or for anyone)."""
        tx_hash = envelope.hash_hex()
        with self._sessions() as session:
            exact = session.get(PaymentRequest, tx_hash)
            if exact is not None and exact.invoice_link_id == link.id:
                return exact
            source = envelope.transaction.source.account_id
            recent = select(PaymentRequest).where(PaymentRequest.invoice_link_id == link.id)
            latest = session.scalar(
                recent.where(PaymentRequest.payer == source)
                .order_by(PaymentRequest.created_at.desc())
                .limit(1)
            ) or session.scalar(recent.order_by(PaymentRequest.created_at.desc()).limit(1))
        if latest is None:
            raise NotThisPayment(
                "no transaction was prepared for this invoice link: request one with "
                f"POST /api/v1/invoice-links/{link.slug}/transaction first",
                field="signedXdr",
            )
        expected = TransactionEnvelope.from_xdr(
            latest.envelope_xdr, self._settings.network_passphrase
        )
        raise NotThisPayment(
            "signedXdr is not the transaction prepared for this invoice link: "
            + "; ".join(differences(envelope, expected)),
            field="signedXdr",
        )

    def _release(self, rpc: ContractRpc, link: InvoiceLink, now: datetime) -> None:
        """A new payment of a SIGNED link is allowed only once its transaction cannot land."""
        other = link.tx_hash
        assert other is not None
        landed = self._call(lambda: rpc.transaction(other))
        if landed.status == "FAILED":
            self._failed(link.slug, other, describe(landed.result_xdr), verified=False)
            return
        if landed.status == "NOT_FOUND":
            with self._sessions() as session:
                previous = session.get(PaymentRequest, other)
            if previous is not None and previous.valid_until <= now:
                reason = "it did not reach a ledger before its time bounds ran out"
                self._failed(link.slug, other, reason, verified=False)
                return
            raise SubmissionConflict(
                f"a payment of this invoice ({other}) is on its way: wait for it"
                + (f" or until {previous.valid_until.isoformat()}" if previous else ""),
                InvoiceStatus.SIGNED,
            )
        raise SubmissionConflict(
            f"invoice link is already paid by transaction {other}; waiting for the chain",
            InvoiceStatus.SIGNED,
        )

    def _wait(self, rpc: ContractRpc, slug: str, tx_hash: str, seconds: float) -> Submission:
        deadline = time.monotonic() + seconds
        while True:
            landed = self._call(lambda: rpc.transaction(tx_hash))
            if landed.status == "SUCCESS":
                return Submission(tx_hash, "SUCCESS", None, self._payments.link(slug))
            if landed.status == "FAILED":
                reason = describe(landed.result_xdr)
                return Submission(tx_hash, "FAILED", reason, self._failed(slug, tx_hash, reason))
            if time.monotonic() + self._settings.invoice_poll_seconds > deadline:
                return Submission(tx_hash, "PENDING", None, self._payments.link(slug))
            self._sleep(self._settings.invoice_poll_seconds)

    # --- POST .../submitted ---

    def report(self, slug: str, tx_hash: object) -> tuple[InvoiceLink, bool]:
        """``(link, confirmed)``: SIGNED when the chain shows ``tx_hash`` paying ``slug``;
        ``confirmed`` is False while the RPC does not know the hash yet (the caller answers 202
        and follows it)."""
        if not isinstance(tx_hash, str) or not TX_HASH.match(tx_hash):
            raise ValidationError("txHash must be 64 hexadecimal characters", field="txHash")
        tx_hash = tx_hash.lower()
        link = self._payments.link(slug)
        current = effective_status(link.status, link.expires_at, self._clock())
        if link.tx_hash == tx_hash and current in (InvoiceStatus.SIGNED, InvoiceStatus.COMPLETED):
            return link, True  # a retry of the same report
        self._check_open(link, current)
        with self._rpc() as rpc:
            landed = self._call(lambda: rpc.transaction(tx_hash))
        return self._settle(slug, tx_hash, landed)

    def _check_open(self, link: InvoiceLink, current: InvoiceStatus) -> None:
        if current is InvoiceStatus.SIGNED:
            raise SubmissionConflict(
                f"invoice link is SIGNED with another transaction ({link.tx_hash})", current
            )
        if current is not InvoiceStatus.DRAFT:
            raise SubmissionConflict(
                f"invoice link is {current.value}: it cannot be paid any more", current
            )

    def _settle(self, slug: str, tx_hash: str, landed: Landed) -> tuple[InvoiceLink, bool]:
        if landed.status == "NOT_FOUND":
            return self._payments.link(slug), False
        if landed.status == "FAILED":
            raise NotThisPayment(
                f"transaction {tx_hash} failed on chain ({describe(landed.result_xdr)}); "
                "the invoice is still payable",
                field="txHash",
            )
        envelope = _landed_envelope(landed, self._settings.network_passphrase)
        link = self._payments.link(slug)
        contract = self._settings.payment_contract_id or ""
        reason = "its envelope is unreadable" if envelope is None else None
        reason = reason or invoice_mismatch(envelope, link, contract)  # type: ignore[arg-type]
        if reason is not None:
            raise NotThisPayment(
                f"transaction {tx_hash} does not pay this invoice: {reason}", field="txHash"
            )
        return self._signed(slug, tx_hash), True

    def follow(self, slug: str, tx_hash: str, stop: threading.Event) -> None:
        """Poll ``tx_hash`` until it is final or ``INVOICE_FOLLOW_SECONDS`` pass: SUCCESS of a
        DRAFT link is settled as a report; FAILED returns a link SIGNED with it to payable."""
        deadline = time.monotonic() + self._settings.invoice_follow_seconds
        while not stop.wait(self._settings.invoice_poll_seconds):
            try:
                with self._rpc() as rpc:
                    landed = self._call(lambda: rpc.transaction(tx_hash))
                if landed.status == "FAILED":
                    self._failed(slug, tx_hash, describe(landed.result_xdr))
                    return
                if landed.status == "SUCCESS":
                    link = self._payments.link(slug)
                    if link.tx_hash != tx_hash:
                        current = effective_status(link.status, link.expires_at, self._clock())
                        self._check_open(link, current)
                        self._settle(slug, tx_hash, landed)
                    return
            except (PaymentUnavailable, RpcFailed):
                pass  # the RPC is down: try again until the deadline
            except (NotFound, Conflict, ValidationError) as exc:
                log.info("invoice_follow_ended", slug=slug, tx_hash=tx_hash, reason=exc.message)
                return
            if time.monotonic() >= deadline:
                log.info("invoice_follow_timed_out", slug=slug, tx_hash=tx_hash)
                return

    # --- state changes (compare-and-set on the stored status) ---

    def _signed(self, slug: str, tx_hash: str) -> InvoiceLink:
        for _ in range(CAS_ATTEMPTS):
            now = self._clock()
            with self._sessions() as session, session.begin():
                link = session.scalar(select(InvoiceLink).where(InvoiceLink.slug == slug))
                if link is None:
                    raise NotFound(f"no invoice link with slug {slug!r}")
                current = effective_status(link.status, link.expires_at, now)
                if link.tx_hash == tx_hash and current in (
                    InvoiceStatus.SIGNED,
                    InvoiceStatus.COMPLETED,
                ):
                    return link
                if current is not InvoiceStatus.DRAFT:
                    self._check_open(link, current)
                changed = session.execute(
                    update(InvoiceLink)
                    .where(InvoiceLink.id == link.id, InvoiceLink.status == link.status)
                    .values(
                        status=InvoiceStatus.SIGNED.value,
                        tx_hash=tx_hash,
                        signed_at=now,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
                if changed.rowcount == 1:  # type: ignore[attr-defined]
                    session.expire(link)
                    session.refresh(link)
                    enqueue_status_change(session, link, InvoiceStatus.SIGNED, now=now)
                    return link
        raise Conflict("invoice link is being changed concurrently; retry", field="status")

    def _failed(
        self, slug: str, tx_hash: str, reason: str, *, verified: bool = False
    ) -> InvoiceLink:
        """Record that ``tx_hash`` failed. A link SIGNED with it becomes DRAFT again (payable);
        a DRAFT link records it only when ``verified`` (the envelope was checked as its own)."""
        now = self._clock()
        with self._sessions() as session, session.begin():
            link = session.scalar(
                select(InvoiceLink).where(InvoiceLink.slug == slug).with_for_update()
            )
            if link is None:
                raise NotFound(f"no invoice link with slug {slug!r}")
            record = {"failure_reason": reason[:500], "failed_tx_hash": tx_hash, "failed_at": now}
            if link.status == InvoiceStatus.SIGNED.value and link.tx_hash == tx_hash:
                session.execute(
                    update(InvoiceLink)
                    .where(InvoiceLink.id == link.id)
                    .values(
                        status=InvoiceStatus.DRAFT.value,
                        tx_hash=None,
                        signed_at=None,
                        updated_at=now,
                        **record,
                    )
                    .execution_options(synchronize_session=False)
                )
            elif verified and link.status == InvoiceStatus.DRAFT.value:
                session.execute(
                    update(InvoiceLink)
                    .where(InvoiceLink.id == link.id)
                    .values(updated_at=now, **record)
                    .execution_options(synchronize_session=False)
                )
            session.expire(link)
            session.refresh(link)
            return link

    # --- the RPC ---

    def _rpc(self) -> ContractRpc:
        require_payments_configured(self._settings)
        return self._rpc_factory()

    def _call(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except SourceUnavailable as exc:
            raise PaymentUnavailable(
                f"the Stellar RPC is unavailable, nothing changed: {exc.message}"
            ) from exc
        except SourceError as exc:
            raise RpcFailed(f"the Stellar RPC failed: {exc.message}") from exc
