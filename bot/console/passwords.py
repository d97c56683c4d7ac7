"""Staff passwords: argon2 hashing, the strength rule, and one-time temporary passwords.

A password must be at least `MIN_LENGTH` characters and score at least `MIN_SCORE` (of 4)
with zxcvbn, which is told the user's name and the landlord's so that "larkspur-duty-1"
does not pass. A temporary password, made when an admin creates an account or resets one,
is random, shown once, expires after `TEMP_LIFE`, and must be replaced at the next sign-in.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 1024
MIN_SCORE = 3
TEMP_LIFE = timedelta(hours=72)
# No 0/O, 1/I/L: a temporary password is read aloud or copied by hand.
_TEMP_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"


class WeakPassword(ValueError):
    """A proposed password breaks the rule; the message says why, for the person choosing."""


def check_strength(password: str, user_inputs: list[str]) -> None:
    """Refuse a password that is too short, too long, or easy to guess (zxcvbn score < 3)."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"The password must be at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"The password must be at most {MAX_LENGTH} characters.")
    words = [w for value in user_inputs if value for w in (value, *value.split())]
    # zxcvbn is slow on very long input and scores its first 72 characters; a passphrase
    # that long and otherwise weak is still caught by its opening.
    result = zxcvbn(password[:72], user_inputs=words)
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        hints = " ".join(filter(None, [feedback.get("warning"), *feedback.get("suggestions",
                                                                               [])]))
        raise WeakPassword("That password is too easy to guess. " + (
            hints or "Try a few unrelated words together."))


def temporary_password() -> str:
    """Return a fresh random temporary password (about 90 bits) in groups of four."""
    chars = "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(16))
    return "-".join(chars[i:i + 4] for i in range(0, 16, 4))


def password_hasher(settings) -> PasswordHasher:
    """Return the argon2 hasher, with cost parameters from REPORTBOT_ARGON2_* if set."""
    params = {name: getattr(settings, f"argon2_{name}")
              for name in ("time_cost", "memory_cost", "parallelism")
              if getattr(settings, f"argon2_{name}") is not None}
    return PasswordHasher(**params)


def verify(hasher: PasswordHasher, stored: str, password: str) -> bool:
    """Return whether `password` matches the argon2 hash `stored` (never raises)."""
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


class _DummyHashes:
    """One throwaway hash per hasher profile, computed on first use."""

    def __init__(self) -> None:
        self._hashes: dict[tuple, str] = {}

    def get(self, hasher: PasswordHasher) -> str:
        key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
        if key not in self._hashes:
            self._hashes[key] = hasher.hash(secrets.token_hex(16))
        return self._hashes[key]


# A cache of throwaway values, not state: any worker computes the same kind of value. An
# unknown user name is checked against it so that it costs what a real check costs.
DUMMY_HASH = _DummyHashes()
