"""SEP-10 authentication: challenge, then a signed challenge for a token."""

from __future__ import annotations

from fastapi import APIRouter, Query

from stellarstream.api.deps import Context
from stellarstream.api.schemas.auth import Challenge, TokenRequest, TokenResponse
from stellarstream.auth.sep10 import build_challenge, consume_challenge, verify_challenge_details
from stellarstream.auth.tokens import issue_token

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.get("/challenge", response_model=Challenge)
def challenge(
    context: Context,
    account: str = Query(description="The G... account that will sign the challenge"),
) -> Challenge:
    """A SEP-10 challenge transaction for ``account`` to sign."""
    return Challenge(
        transaction=build_challenge(context.settings, account),
        network_passphrase=context.settings.network_passphrase,
    )


@router.post("/token", response_model=TokenResponse)
def token(context: Context, body: TokenRequest) -> TokenResponse:
    """Exchange a challenge signed by the account's master key for a JWT (once per challenge)."""
    verified = verify_challenge_details(context.settings, body.transaction)
    now = context.clock()
    consume_challenge(context.sessions, verified, now)  # each challenge gives one token
    value, expires_at = issue_token(
        context.settings.jwt_key, verified.account, now, context.settings.jwt_ttl_seconds
    )
    return TokenResponse(token=value, expires_at=expires_at)
