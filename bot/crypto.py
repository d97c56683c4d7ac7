"""Encryption of personal fields at rest, and keyed-hash lookups of encrypted values.

Keys are derived from the configured secret key(s) with HKDF, one per purpose, so the
encryption key and the lookup key are independent. The first secret encrypts; all of them
decrypt (MultiFernet), which is how keys are rotated. Lookups (a phone number, a chat id, a
web chat token) write an HMAC "blind index" made with the first secret; while keys are being
rotated a lookup tries the index under every configured secret (`indexes`), so a row not yet
re-indexed is still found. Each secret has a public fingerprint (`fingerprint`) that names
it in backups and rotation reports without revealing it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"reportbot-v1",
                info=purpose).derive(secret.encode())


def fingerprint(secret: str) -> str:
    """Return a short public name for `secret`: safe to print, log and store in a backup."""
    return _derive(secret, b"fingerprint").hex()[:16]


class Vault:
    """Seal and open personal data; compute blind indexes for lookups."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        if not secrets:
            raise ValueError("at least one secret key is needed")
        self._fernets = [Fernet(base64.urlsafe_b64encode(_derive(s, b"fernet")))
                         for s in secrets]
        self._fernet = MultiFernet(self._fernets)
        self._index_keys = [_derive(s, b"blind-index") for s in secrets]
        self._index_key = self._index_keys[0]
        self.fingerprints: tuple[str, ...] = tuple(fingerprint(s) for s in secrets)

    def seal(self, plaintext: str | bytes) -> bytes:
        """Encrypt text or bytes."""
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        return self._fernet.encrypt(data)

    def open(self, token: bytes) -> bytes:
        """Decrypt bytes sealed with any configured key."""
        return self._fernet.decrypt(token)

    def open_text(self, token: bytes | None) -> str | None:
        """Decrypt text, passing None through."""
        return None if token is None else self.open(token).decode()

    def seal_json(self, value: Any) -> bytes:
        """Encrypt a JSON-serialisable value."""
        return self.seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def open_json(self, token: bytes | None) -> Any:
        """Decrypt a value sealed with `seal_json`, passing None through."""
        return None if token is None else json.loads(self.open(token))

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt a token under the current (first) key."""
        return self._fernet.rotate(token)

    def key_position(self, token: bytes) -> int | None:
        """Return which configured key sealed `token` (0 is the current one), or None.

        Only the token's signature is checked, nothing is decrypted, so counting the keys
        in use over a whole database is cheap.
        """
        for position, fernet in enumerate(self._fernets):
            try:
                fernet.extract_timestamp(token)
            except InvalidToken:
                continue
            return position
        return None

    def index(self, kind: str, value: str) -> str:
        """Return the keyed hash used to look `value` up without decrypting anything."""
        return _mac(self._index_key, kind, value)

    def indexes(self, kind: str, value: str) -> tuple[str, ...]:
        """Return `value`'s keyed hash under every configured key, the current one first.

        Lookups match any of them, so a row written before a key rotation is still found
        until `reportbot keys rotate` has re-indexed it.
        """
        return tuple(dict.fromkeys(_mac(k, kind, value) for k in self._index_keys))


def _mac(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()
