"""Secrets kept in the database are encrypted with the server's key (``STELLARSTREAM_SECRETS_KEY``,
else ``var/secrets_key``, generated on first run like the other generated secrets).

Fernet (``cryptography``): AES-128-CBC with an HMAC-SHA256 tag over it, so a wrong key or a
tampered value is detected, never decrypted to garbage. What is stored is the Fernet token
(URL-safe base64, ``gAAAA...``); the plaintext is only ever in memory. Losing the key loses the
secrets: webhook endpoints then need a new secret (rotate it, or register them again).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class UnreadableSecret(Exception):
    """The stored value was not encrypted with this key (or was altered)."""


def new_key() -> str:
    """A fresh key: 32 random bytes, URL-safe base64 (44 characters)."""
    return Fernet.generate_key().decode()


def check_key(key: str) -> str:
    """``key`` if it is a key (raises ValueError naming the expected form otherwise)."""
    try:
        Fernet(key.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError(
            "must be 32 bytes in URL-safe base64 (44 characters), e.g. from "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())'"
        ) from exc
    return key


class SecretBox:
    """Encrypt and decrypt short secrets with one key."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise UnreadableSecret(
                "a stored secret cannot be decrypted with this STELLARSTREAM_SECRETS_KEY "
                "(var/secrets_key): it was encrypted with another key"
            ) from exc
