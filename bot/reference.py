"""Case references residents can read aloud, type on a phone and get right (policy 3.6).

A reference is nine random characters and one check character from a 29-character alphabet
with no look-alikes (no 0/O, 1/I, B/8, S/5 or Z/2 confusions), shown as two groups of five:
``K7QMX-9RDT4``. The check value is ``sum((i + 1) * value(c_i)) mod 29`` over the nine body
characters. Because 29 is prime and every weight is between 1 and 9, changing any one
character, or swapping any two adjacent different characters (including the last body
character and the check character), always changes the check.
"""

from __future__ import annotations

import random
import secrets
import unicodedata

__all__ = [
    "ALPHABET",
    "BODY_LENGTH",
    "REFERENCE_LENGTH",
    "check_character",
    "is_valid",
    "near_misses",
    "new_reference",
    "normalise",
]

ALPHABET = "23456789ACDEFGHJKLMNPQRTUVWXY"
BODY_LENGTH = 9
REFERENCE_LENGTH = BODY_LENGTH + 1
GROUP_LENGTH = 5

_VALUES = {char: value for value, char in enumerate(ALPHABET)}
_MODULUS = len(ALPHABET)

# Separators people type between the groups, including the dashes and spaces that phone
# keyboards substitute for a plain hyphen.
_SEPARATORS = frozenset("-.\u2010\u2011\u2012\u2013\u2014\u2212_/")

# One shared OS-entropy source; SystemRandom keeps no state worth isolating per caller.
_SYSTEM_RANDOM = secrets.SystemRandom()

# Longer input is a message, not a reference; skip it without normalising all of it.
_MAX_INPUT_LENGTH = 64


def check_character(body9: str) -> str:
    """Return the check character for nine body characters."""
    if len(body9) != BODY_LENGTH:
        raise ValueError(f"reference body must be {BODY_LENGTH} characters, got {len(body9)}")
    try:
        total = sum((i + 1) * _VALUES[char] for i, char in enumerate(body9))
    except KeyError as exc:
        raise ValueError(f"reference body contains {exc.args[0]!r}, not in ALPHABET") from exc
    return ALPHABET[total % _MODULUS]


def _display(compact: str) -> str:
    return f"{compact[:GROUP_LENGTH]}-{compact[GROUP_LENGTH:]}"


def new_reference(rng: random.Random = _SYSTEM_RANDOM) -> str:
    """Return a new random reference in display form, e.g. K7QMX-9RDT4."""
    body = "".join(rng.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return _display(body + check_character(body))


def _compact(text: str) -> str | None:
    """Return the typed text upper-cased without spaces or separators, or None if too long."""
    if not isinstance(text, str) or len(text) > _MAX_INPUT_LENGTH:
        return None
    # NFKC folds full-width characters typed on CJK keyboards to plain ASCII.
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(c for c in folded if not (c.isspace() or c in _SEPARATORS))


def normalise(text: str) -> str | None:
    """Return the display form of a typed reference, or None if it is not a valid one."""
    compact = _compact(text)
    if compact is None or len(compact) != REFERENCE_LENGTH or any(
            c not in _VALUES for c in compact):
        return None
    body, check = compact[:BODY_LENGTH], compact[BODY_LENGTH:]
    if check_character(body) != check:
        return None
    return _display(compact)


def is_valid(text: str) -> bool:
    """Return whether the text is a well-formed reference with a correct check character."""
    return normalise(text) is not None


# Characters the alphabet leaves out, read as the one they are mistaken for: someone who
# sees "2" may type "Z". (0/O and 1/I are both left out, so there is no safe guess.)
_LOOKALIKES = str.maketrans({"Z": "2", "S": "5", "B": "8"})


def near_misses(text: str) -> list[str]:
    """Return the valid references one slip away from what was typed, in display form.

    A slip is one wrong character (the check character or any other), two neighbours
    swapped, the check character left off, or a left-out look-alike (Z for 2). A valid
    reference is returned as itself. The caller keeps those that exist: "did you mean".
    """
    compact = _compact(text)
    if compact is None:
        return []
    compact = compact.translate(_LOOKALIKES)
    if any(c not in _VALUES for c in compact):
        return []
    found: dict[str, None] = {}

    def consider(candidate: str) -> None:
        if check_character(candidate[:BODY_LENGTH]) == candidate[BODY_LENGTH:]:
            found[_display(candidate)] = None

    if len(compact) == BODY_LENGTH:
        found[_display(compact + check_character(compact))] = None
    elif len(compact) == REFERENCE_LENGTH:
        consider(compact)
        body = compact[:BODY_LENGTH]
        found[_display(body + check_character(body))] = None
        for i in range(BODY_LENGTH):
            for char in ALPHABET:
                if char != compact[i]:
                    consider(compact[:i] + char + compact[i + 1:])
        for i in range(REFERENCE_LENGTH - 1):
            if compact[i] != compact[i + 1]:
                consider(compact[:i] + compact[i + 1] + compact[i] + compact[i + 2:])
    return list(found)
