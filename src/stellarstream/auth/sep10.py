"""SEP-10 Web Authentication with stellar-sdk's helpers: build a challenge, verify the answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from stellar_sdk import TransactionEnvelope
from stellar_sdk.exceptions import Ed25519PublicKeyInvalidError
from stellar_sdk.sep.exceptions import InvalidSep10ChallengeError
from stellar_sdk.sep.stellar_web_authentication import (
    build_challenge_transaction,
    read_challenge_transaction,
    verify_challenge_transaction_signed_by_client_master_key,
)

from stellarstream.chain.addresses import require_address
from stellarstream.config import Settings
from stellarstream.db.models import UsedChallenge
from stellarstream.errors import AuthError, ValidationError


def build_challenge(settings: Settings, account: str) -> str:
    """A challenge transaction (base64 XDR) for ``account``, signed by the server key."""
    require_address(account, "account", kinds="G")
    return str(
        build_challenge_transaction(
            server_secret=settings.signing_keypair.secret,
            client_account_id=account,
            home_domain=settings.sep10_home_domain,
            web_auth_domain=settings.web_auth_domain,
            network_passphrase=settings.network_passphrase,
            timeout=settings.challenge_ttl_seconds,
        )
    )


@dataclass(frozen=True, slots=True)
class VerifiedChallenge:
    account: str
    tx_hash: str  # of the challenge transaction (the same signed or not)
    expires_at: datetime  # the end of its time bounds


NOT_AN_ENVELOPE = "invalid SEP-10 challenge: not a valid transaction envelope"


def verify_challenge(settings: Settings, transaction: str) -> str:
    """Check a challenge signed by the client's master key; return the client account."""
    return verify_challenge_details(settings, transaction).account


def verify_challenge_details(settings: Settings, transaction: str) -> VerifiedChallenge:
    """As :func:`verify_challenge`, with what makes the challenge single use."""
    if not transaction or not isinstance(transaction, str):
        raise ValidationError("transaction is required", field="transaction")
    try:  # first: garbage is "not a valid envelope", not a base64 or XDR library's words
        TransactionEnvelope.from_xdr(transaction, settings.network_passphrase)
    except Exception as exc:  # malformed base64/XDR surfaces as assorted errors
        raise AuthError(NOT_AN_ENVELOPE, field="transaction") from exc
    server = settings.signing_keypair.public_key
    try:
        challenge = read_challenge_transaction(
            challenge_transaction=transaction,
            server_account_id=server,
            home_domains=settings.sep10_home_domain,
            web_auth_domain=settings.web_auth_domain,
            network_passphrase=settings.network_passphrase,
        )
        verify_challenge_transaction_signed_by_client_master_key(
            challenge_transaction=transaction,
            server_account_id=server,
            home_domains=settings.sep10_home_domain,
            web_auth_domain=settings.web_auth_domain,
            network_passphrase=settings.network_passphrase,
        )
    except (InvalidSep10ChallengeError, Ed25519PublicKeyInvalidError, ValueError) as exc:
        raise AuthError(f"invalid SEP-10 challenge: {exc}", field="transaction") from exc
    except Exception as exc:  # malformed XDR surfaces as assorted xdrlib/sdk errors
        raise AuthError(NOT_AN_ENVELOPE, field="transaction") from exc
    envelope = challenge.transaction
    preconditions = envelope.transaction.preconditions
    bounds = preconditions.time_bounds if preconditions is not None else None
    if bounds is None or not bounds.max_time:  # read_challenge_transaction requires them
        raise AuthError("invalid SEP-10 challenge: it has no time bounds", field="transaction")
    return VerifiedChallenge(
        account=str(challenge.client_account_id),
        tx_hash=envelope.hash_hex(),
        expires_at=datetime.fromtimestamp(bounds.max_time, UTC),
    )


def consume_challenge(
    sessions: sessionmaker[Session], challenge: VerifiedChallenge, now: datetime
) -> None:
    """Record ``challenge`` as used, or refuse it if it was used before (on any worker: the
    table's primary key decides). Used challenges past their time bounds are deleted."""
    try:
        with sessions() as session, session.begin():
            session.execute(delete(UsedChallenge).where(UsedChallenge.expires_at < now))
            session.add(
                UsedChallenge(
                    tx_hash=challenge.tx_hash,
                    account=challenge.account,
                    expires_at=challenge.expires_at,
                    used_at=now,
                )
            )
    except IntegrityError as exc:
        raise AuthError(
            "this SEP-10 challenge was already exchanged for a token: "
            "request a new challenge and sign it",
            field="transaction",
        ) from exc
