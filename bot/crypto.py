"""Encryption of personal fields at rest, and keyed-hash lookups of encrypted values.

Keys are derived from the configured secret key(s) with HKDF, one per purpose, so the
encryption key and the lookup key are independent. The first secret encrypts; all of them
decrypt (MultiFernet), which is how keys are rotated. Lookups (a phone number, a chat id, a
web chat token) use an HMAC "blind index" from the first secret only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"reportbot-v1",
                info=purpose).derive(secret.encode())


class Vault:
    """Seal and open personal data; compute blind indexes for lookups."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        if not secrets:
            raise ValueError("at least one secret key is needed")
        self._fernet = MultiFernet([
            Fernet(base64.urlsafe_b64encode(_derive(s, b"fernet"))) for s in secrets
        ])
        self._index_key = _derive(secrets[0], b"blind-index")

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

    def index(self, kind: str, value: str) -> str:
        """Return the keyed hash used to look `value` up without decrypting anything."""
        mac = hmac.new(self._index_key, f"{kind}\x00{value}".encode(), hashlib.sha256)
        return mac.hexdigest()
