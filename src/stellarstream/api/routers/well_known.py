"""``/.well-known/stellar.toml`` (SEP-1) and the SEP-10 endpoint it names.

stellar.toml publishes ``NETWORK_PASSPHRASE``, ``WEB_AUTH_ENDPOINT`` and ``SIGNING_KEY`` (SEP-10:
wallets authenticate against them) and ``URI_REQUEST_SIGNING_KEY`` (SEP-7: wallets check the
``signature`` of our ``web+stellar:tx`` URIs with it, after fetching this file from the URI's
``origin_domain``). SEP-1 requires ``Access-Control-Allow-Origin: *`` on it.

``WEB_AUTH_ENDPOINT`` is ``{PUBLIC_URL}/api/v1/auth``: SEP-10's single URL that answers
``GET ?account=G...`` with a challenge and ``POST`` (JSON or form ``transaction``) with a token;
``/api/v1/auth/challenge`` and ``/api/v1/auth/token`` stay as they are.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from stellarstream.api.deps import Context
from stellarstream.api.schemas.auth import Challenge, TokenResponse
from stellarstream.auth.sep10 import (
    build_challenge,
    consume_challenge,
    verify_challenge_details,
)
from stellarstream.auth.tokens import issue_token
from stellarstream.config import Settings
from stellarstream.errors import ValidationError

router = APIRouter(tags=["sep"])

SEP10_PATH = "/api/v1/auth"


def stellar_toml(settings: Settings) -> str:
    values = {
        "NETWORK_PASSPHRASE": settings.network_passphrase,
        "WEB_AUTH_ENDPOINT": settings.public_url + SEP10_PATH,
        "SIGNING_KEY": settings.signing_keypair.public_key,
        "URI_REQUEST_SIGNING_KEY": settings.uri_signing_keypair.public_key,
    }
    # JSON strings are valid TOML basic strings (same escapes for what can appear here).
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())


@router.get("/.well-known/stellar.toml", response_class=PlainTextResponse, include_in_schema=False)
def well_known_stellar_toml(context: Context) -> PlainTextResponse:
    return PlainTextResponse(
        stellar_toml(context.settings),
        media_type="text/plain",
        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"},
    )


@router.get(SEP10_PATH, response_model=Challenge)
def sep10_challenge(
    context: Context,
    account: str = Query(description="The G... account that will sign the challenge"),
) -> Challenge:
    """SEP-10 WEB_AUTH_ENDPOINT: a challenge for ``account`` to sign."""
    return Challenge(
        transaction=build_challenge(context.settings, account),
        network_passphrase=context.settings.network_passphrase,
    )


@router.post(
    SEP10_PATH,
    response_model=TokenResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"transaction": {"type": "string"}},
                        "required": ["transaction"],
                    }
                },
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {"transaction": {"type": "string"}},
                        "required": ["transaction"],
                    }
                },
            },
        }
    },
)
async def sep10_token(request: Request, context: Context) -> TokenResponse:
    """SEP-10 WEB_AUTH_ENDPOINT: the signed challenge (JSON or form field ``transaction``)."""
    transaction: Any = None
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        # Parsed by hand: Starlette's form parser needs python-multipart for one field.
        fields = parse_qs((await request.body()).decode("utf-8", "replace"))
        transaction = fields["transaction"][0] if fields.get("transaction") else None
    else:
        try:
            body = await request.json()
        except ValueError as exc:
            raise ValidationError("body must be JSON {transaction} or a form") from exc
        transaction = body.get("transaction") if isinstance(body, dict) else None
    if not isinstance(transaction, str) or not transaction:
        raise ValidationError("transaction is required", field="transaction")
    verified = verify_challenge_details(context.settings, transaction)
    now = context.clock()
    # A database write: off the event loop (this handler is async to read the body).
    await run_in_threadpool(consume_challenge, context.sessions, verified, now)
    value, expires_at = issue_token(
        context.settings.jwt_key, verified.account, now, context.settings.jwt_ttl_seconds
    )
    return TokenResponse(token=value, expires_at=expires_at)
