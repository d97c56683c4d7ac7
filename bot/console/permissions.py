"""Who may do what to a case: the one set of rules the views enforce and the pages show.

A sensitive case (policy 8.3) is seen in full only by its assigned officer and by managers,
and every right that would open it follows the same rule: claiming it, acting on it,
downloading its evidence. The pages ask `actions_for` which buttons to show, so a page never
offers an action that the view behind it would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.console.web import CASEWORK, CLOSERS, MANAGERS, can_see_full
from bot.models import Case

__all__ = ["CaseActions", "actions_for", "can_see_full", "may_claim"]


def may_claim(staff, case: Case) -> bool:
    """Return whether `staff` may claim `case`: open, unassigned, and theirs to see."""
    if staff.role not in CASEWORK or case.assignee is not None or case.status == "closed":
        return False
    return not case.sensitive or staff.role in MANAGERS


@dataclass(frozen=True)
class CaseActions:
    """What one member of staff may do to one case, for the case page and the queue."""

    full: bool
    claim: bool
    act: bool
    assign: bool
    close: bool
    unflag_sensitive: bool


def actions_for(staff, case: Case) -> CaseActions:
    """Return what `staff` may do to `case` now."""
    full = can_see_full(staff, case)
    live = case.status != "closed"
    return CaseActions(
        full=full,
        claim=may_claim(staff, case),
        act=full and live,
        assign=full and live and staff.role in MANAGERS,
        close=full and live and staff.role in CLOSERS,
        unflag_sensitive=staff.role in MANAGERS,
    )
