"""Transaction requests: the payer's ``create_stream`` for an invoice, prepared and SEP-7 signed.

For payer ``P`` and link ``L`` (DRAFT or SIGNED): ``create_stream`` with ``sender = P``,
``receiver = L.receiver`` (a muxed receiver's base account: the contract pays accounts),
``token = L.token_address``, ``total_amount = L.amount``, ``start = now + margin``,
``end = start + L.duration``, ``memo = L.slug`` and the spec's defaults for the other StreamArgs
(no cliff: ``cliff_time = start``). The transaction's source is ``P`` at its current sequence
(from the RPC's ``getLedgerEntries``), valid until the stream starts (and never past the link's
expiry): a transaction that lands later would start a stream in the past, so the page asks for a
fresh one instead. It is prepared on the RPC (simulation: footprint, resource fee, auth) and
offered as a SEP-7 ``web+stellar:tx`` URI signed with ``URI_REQUEST_SIGNING_KEY``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from stellar_sdk import Network, StrKey
from stellar_sdk.sep.stellar_uri import TransactionStellarUri

from nebula_sdk.lib.invocations import StreamArgs, create_stream_transaction
from stellarstream.chain.addresses import base_account
from stellarstream.chain.results import simulation_problem
from stellarstream.chain.soroban import ContractRpc, contract_rpc
from stellarstream.clock import Clock
from stellarstream.config import Settings
from stellarstream.db.models import InvoiceLink, PaymentRequest
from stellarstream.errors import (
    NotFound,
    NotPayable,
    PayerCannotPay,
    PaymentsNotConfigured,
    PaymentUnavailable,
    RpcFailed,
    SimulationFailed,
    SourceError,
    SourceUnavailable,
    ValidationError,
)
from stellarstream.invoices.lifecycle import OPEN, effective_status

log = structlog.get_logger("stellarstream.invoices")

BASE_FEE = 100
"""Inclusion fee in stroops, added to the simulation's resource fee."""


def payments_missing_setting(settings: Settings) -> str | None:
    """What the operator must set before payers can pay (None: nothing is missing)."""
    if settings.payment_contract_id is None:
        return (
            "STELLARSTREAM_INVOICE_CONTRACT_ID (or STELLARSTREAM_CONTRACT_IDS): "
            "the StellarStream V2 contract payers pay through"
        )
    if not settings.rpc_url:
        return "STELLARSTREAM_RPC_URL: the Stellar RPC that prepares and sends payments"
    return None


def require_payments_configured(settings: Settings) -> None:
    """Raise :class:`PaymentsNotConfigured` (and log what to set) unless payments can be made."""
    missing = payments_missing_setting(settings)
    if missing is not None:
        log.warning("payments_not_configured", code=PaymentsNotConfigured.code, missing=missing)
        raise PaymentsNotConfigured


@dataclass(frozen=True, slots=True)
class TransactionRequest:
    """What a payer's wallet needs: the prepared XDR and the signed SEP-7 URI."""

    xdr: str
    sep7_uri: str
    network_passphrase: str
    expires_at: datetime
    tx_hash: str
    contract_id: str
    start_time: int
    end_time: int
    payer: str
    fee: int  # stroops: inclusion fee + the simulation's resource fee
    memo: str


def require_payer(payer: object) -> str:
    """The payer must be a G... account: it is the transaction's source and the stream sender."""
    if not isinstance(payer, str) or not StrKey.is_valid_ed25519_public_key(payer):
        raise ValidationError("payer must be a Stellar account address (G...)", field="payer")
    return payer


def sep7_uri(settings: Settings, xdr_envelope: object, *, payer: str, slug: str) -> str:
    """A signed ``web+stellar:tx`` URI for ``xdr_envelope`` (a TransactionEnvelope)."""
    passphrase = settings.network_passphrase
    uri = TransactionStellarUri(
        transaction_envelope=xdr_envelope,  # type: ignore[arg-type]
        pubkey=payer,
        message=f"Pay invoice {slug}",
        # SEP-7: only needed off the public network, and every byte makes the QR denser.
        network_passphrase=None if passphrase == Network.PUBLIC_NETWORK_PASSPHRASE else passphrase,
        origin_domain=settings.sep10_home_domain.split(":")[0],
    )
    uri.sign(settings.uri_signing_keypair)
    return str(uri.to_uri())


class PaymentRequests:
    """Build transaction requests for invoice links."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        clock: Clock,
        *,
        rpc_factory: Callable[[], ContractRpc] | None = None,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        self._rpc_factory = rpc_factory or (lambda: contract_rpc(settings))

    def link(self, slug: str) -> InvoiceLink:
        with self._sessions() as session:
            link = session.scalar(select(InvoiceLink).where(InvoiceLink.slug == slug))
        if link is None:
            raise NotFound(f"no invoice link with slug {slug!r}")
        return link

    def build(self, slug: str, payer: str) -> TransactionRequest:
        """The prepared ``create_stream`` for ``payer`` paying link ``slug``."""
        payer = require_payer(payer)
        link = self.link(slug)
        now = self._clock()
        status = effective_status(link.status, link.expires_at, now)
        if status not in OPEN:
            raise NotPayable(status)
        settings = self._settings
        require_payments_configured(settings)
        contract_id = settings.payment_contract_id
        assert contract_id is not None  # require_payments_configured
        start = int(now.timestamp()) + 1 + settings.invoice_start_margin_seconds
        valid_until = start
        if link.expires_at is not None:
            valid_until = min(valid_until, int(link.expires_at.timestamp()))
        args = StreamArgs(
            sender=payer,
            receiver=base_account(link.receiver),
            token=link.token_address,
            total_amount=link.amount,
            start_time=start,
            end_time=start + link.duration,
            memo=link.slug,
        )
        try:
            with self._rpc_factory() as rpc:
                source = rpc.get_account(payer)
                envelope = create_stream_transaction(
                    source,
                    contract_id,
                    args,
                    network_passphrase=settings.network_passphrase,
                    base_fee=BASE_FEE,
                    valid_until=valid_until,
                )
                prepared = rpc.prepare(envelope)
        except SourceUnavailable as exc:
            raise PaymentUnavailable(f"the Stellar RPC is unavailable: {exc.message}") from exc
        except SourceError as exc:
            raise RpcFailed(f"the Stellar RPC failed: {exc.message}") from exc
        except SimulationFailed as exc:
            problem = simulation_problem(exc.error or exc.message)
            if problem is not None:
                raise PayerCannotPay(*problem) from exc
            raise
        self._record(link, payer, prepared.to_xdr(), prepared.hash_hex(), valid_until, now)
        return TransactionRequest(
            xdr=prepared.to_xdr(),
            sep7_uri=sep7_uri(settings, prepared, payer=payer, slug=link.slug),
            network_passphrase=settings.network_passphrase,
            expires_at=datetime.fromtimestamp(valid_until, UTC),
            tx_hash=prepared.hash_hex(),
            contract_id=contract_id,
            start_time=args.start_time,
            end_time=args.end_time,
            payer=payer,
            fee=prepared.transaction.fee,
            memo=link.slug,
        )

    def _record(
        self, link: InvoiceLink, payer: str, xdr: str, tx_hash: str, valid_until: int, now: datetime
    ) -> None:
        """Keep what was prepared: ``/submit`` accepts exactly this transaction, signed."""
        with self._sessions() as session, session.begin():
            if session.get(PaymentRequest, tx_hash) is None:
                session.add(
                    PaymentRequest(
                        tx_hash=tx_hash,
                        invoice_link_id=link.id,
                        payer=payer,
                        envelope_xdr=xdr,
                        valid_until=datetime.fromtimestamp(valid_until, UTC),
                        created_at=now,
                    )
                )
