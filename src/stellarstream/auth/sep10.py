"""SEP-10 Web Authentication with stellar-sdk's helpers: build a challenge, verify the answer."""

from __future__ import annotations

from stellar_sdk.exceptions import Ed25519PublicKeyInvalidError
from stellar_sdk.sep.exceptions import InvalidSep10ChallengeError
from stellar_sdk.sep.stellar_web_authentication import (
    build_challenge_transaction,
    read_challenge_transaction,
    verify_challenge_transaction_signed_by_client_master_key,
)

from stellarstream.chain.addresses import require_address
from stellarstream.config import Settings
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


def verify_challenge(settings: Settings, transaction: str) -> str:
    """Check a challenge signed by the client's master key; return the client account."""
    if not transaction or not isinstance(transaction, str):
        raise ValidationError("transaction is required", field="transaction")
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
        raise AuthError(
            "invalid SEP-10 challenge: not a transaction envelope", field="transaction"
        ) from exc
    return str(challenge.client_account_id)
