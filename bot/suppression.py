"""Small-count suppression for figures about people (policy 13.4, data protection).

A count from 1 to 4 of victims of one ethnicity, or of residents who gave one score, can
point at a person. Such counts are shown as "fewer than 5". Where a table has exactly one
hidden count, it could be worked out from the others and the total, so the next smallest
count is hidden too (secondary suppression); beside only zeros, the zeros are hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

THRESHOLD = 5
HIDDEN = f"fewer than {THRESHOLD}"


@dataclass(frozen=True)
class Cell:
    """One value of a profile and its count, or None where the count is hidden."""

    value: str
    count: int | None

    @property
    def shown(self) -> str:
        """Return the count as shown: the number, or "fewer than 5"."""
        return HIDDEN if self.count is None else str(self.count)

    @property
    def hidden(self) -> bool:
        """Return whether the count is suppressed."""
        return self.count is None


def suppress(counts: Mapping[str, int], keep_zeros: bool = False) -> list[Cell]:
    """Return the counts in order of value, small ones hidden, with secondary suppression.

    Zeros are dropped unless `keep_zeros` (a fixed scale such as satisfaction 1 to 5, where
    a zero says something and identifies nobody).
    """
    items = [(v, n) for v, n in counts.items() if n > 0 or keep_zeros]
    hidden = {v for v, n in items if 0 < n < THRESHOLD}
    if len(hidden) == 1:
        others = sorted((n, v) for v, n in items if v not in hidden and n > 0)
        if others:
            hidden.add(others[0][1])
        else:
            # Only zeros beside it: hide them too, or the total would give it away.
            hidden |= {v for v, _n in items}
    return [Cell(v, None if v in hidden else n) for v, n in sorted(items)]


def shown(count: int) -> str:
    """Return a count of people as shown: "fewer than 5" from 1 to 4."""
    return HIDDEN if 0 < count < THRESHOLD else str(count)
