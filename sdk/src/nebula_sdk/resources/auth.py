"""SEP-10 sign-in: get a challenge, sign it locally, exchange it for a bearer token."""

from __future__ import annotations

from stellar_sdk import Keypair, TransactionEnvelope
from stellar_sdk.operation import ManageData

from .._constants import API_PREFIX
from .._exceptions import SigningError
from .._resource import AsyncAPIResource, SyncAPIResource
from .._utils import check_address
from ..types.auth_token import AuthToken
from ..types.challenge import Challenge

__all__ = ["AsyncAuth", "Auth", "sign_challenge"]


def sign_challenge(challenge: Challenge, keypair: Keypair) -> str:
    """Sign a SEP-10 challenge after checking it cannot be anything else.

    A challenge has sequence number 0 (it can never be submitted) and only ManageData operations,
    the first one for our account. We refuse to sign anything else: signing is only safe for
    transactions that cannot move funds.
    """
    try:
        envelope = TransactionEnvelope.from_xdr(challenge.transaction, challenge.network_passphrase)
    except Exception as exc:
        raise SigningError(f"the challenge is not a transaction envelope: {exc}") from exc
    tx = envelope.transaction
    ops = tx.operations
    if tx.sequence != 0 or not ops or not all(isinstance(op, ManageData) for op in ops):
        raise SigningError("refusing to sign: this is not a SEP-10 challenge transaction")
    first_source = ops[0].source.account_id if ops[0].source is not None else None
    if first_source != keypair.public_key:
        raise SigningError(f"refusing to sign: the challenge is not for {keypair.public_key}")
    envelope.sign(keypair)
    return str(envelope.to_xdr())


class Auth(SyncAPIResource):
    def challenge(self, account: str) -> Challenge:
        """A SEP-10 challenge for ``account`` (``G...``) to sign."""
        check_address(account, "account", "G")
        return self._get(
            f"{API_PREFIX}/auth/challenge", cast_to=Challenge, params={"account": account}
        )

    def token(self, signed_transaction: str) -> AuthToken:
        """Exchange a signed challenge for a token (does not store it: see :meth:`login`)."""
        return self._post(
            f"{API_PREFIX}/auth/token", cast_to=AuthToken, body={"transaction": signed_transaction}
        )

    def login(self, keypair: Keypair) -> AuthToken:
        """Sign in as ``keypair``: challenge, sign locally, exchange; the client keeps the token.

        The secret key never leaves this process; only the signed challenge is sent.
        """
        challenge = self.challenge(keypair.public_key)
        token = self.token(sign_challenge(challenge, keypair))
        self._client.token = token.token
        return token


class AsyncAuth(AsyncAPIResource):
    async def challenge(self, account: str) -> Challenge:
        check_address(account, "account", "G")
        return await self._get(
            f"{API_PREFIX}/auth/challenge", cast_to=Challenge, params={"account": account}
        )

    async def token(self, signed_transaction: str) -> AuthToken:
        return await self._post(
            f"{API_PREFIX}/auth/token", cast_to=AuthToken, body={"transaction": signed_transaction}
        )

    async def login(self, keypair: Keypair) -> AuthToken:
        challenge = await self.challenge(keypair.public_key)
        token = await self.token(sign_challenge(challenge, keypair))
        self._client.token = token.token
        return token
