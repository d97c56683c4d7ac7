"""The embedded default's key file: add a new key first, remove a retired one.

`instance/secret.key` holds one key per line; the first encrypts and every line decrypts
(see `bot.settings`). Deployments that set REPORTBOT_SECRET_KEY edit that variable
instead; `new_key` gives them a key to put first.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.crypto import fingerprint
from bot.settings import instance_key_file


class KeyFileRefused(Exception):
    """The key file cannot be changed that way; the message says why."""


def new_key() -> str:
    """Return a new random secret key (64 URL-safe characters)."""
    return secrets.token_urlsafe(48)


def read_keys(instance: Path) -> list[str]:
    """Return the keys in the instance's key file, first (encrypting) key first."""
    path = instance_key_file(instance)
    if not path.exists():
        raise KeyFileRefused(f"there is no key file at {path}")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def add_key(instance: Path) -> str:
    """Put a new key first in the key file and return its fingerprint."""
    key = new_key()
    _write(instance, [key, *read_keys(instance)])
    return fingerprint(key)


def remove_key(instance: Path, wanted: str) -> None:
    """Remove the key with fingerprint `wanted`; never the first (encrypting) key."""
    keys = read_keys(instance)
    prints = [fingerprint(k) for k in keys]
    if wanted not in prints:
        raise KeyFileRefused(f"no key with fingerprint {wanted} in {instance_key_file(instance)}"
                             f" (there are: {', '.join(prints)})")
    if prints.index(wanted) == 0:
        raise KeyFileRefused("that is the current key, which encrypts everything new; it "
                             "cannot be removed")
    _write(instance, [k for k, fp in zip(keys, prints, strict=True) if fp != wanted])


def _write(instance: Path, keys: list[str]) -> None:
    """Replace the key file atomically, never readable by others."""
    path = instance_key_file(instance)
    partial = path.with_name(path.name + ".new")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(keys) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, path)
