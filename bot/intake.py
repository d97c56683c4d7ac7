"""Turn a finished conversation into the fields of a case.

Choice answers (stable ids) are not personal on their own and are kept in plain columns for
filtering and monitoring; everything typed by the resident is sealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.engine import ConversationState, Kind
from flows.indicators import find_indicators
from flows.report import (
    CONSENT_WORDING_VERSION,
    MONITORING_STEPS,
    REPORT_STEPS,
    perceived_strands,
)

_STEPS = {s.id: s for s in REPORT_STEPS}
MONITORING = frozenset(s.id for s in MONITORING_STEPS)

CONSENT_STEPS = {
    "consent_police": "police",
    "consent_council": "local_authority",
    "consent_support": "support_services",
}


@dataclass(frozen=True)
class CaseDraft:
    """The case fields a finished conversation yields."""

    hate_related: bool
    strands: list[str]
    perceived_by: list[str]
    prejudice_indicators: list[str]
    reporter_role: str
    anonymous: bool
    incident_types: list[str]
    location_type: str | None
    immediate_danger: bool
    repair_needed: bool
    preserve_evidence: str | None
    choice_answers: dict[str, Any]
    personal: dict[str, Any]
    # (recipient, granted, answered at ISO 8601, wording version[, given to, method]):
    # the last two only for consent given to a member of staff.
    consents: list[tuple]
    # The area chosen by staff; otherwise the store finds it from the address's postcode.
    area: str | None = None


def _personal(step_id: str) -> bool:
    return _STEPS[step_id].kind is Kind.TEXT or step_id in MONITORING

def draft_from(state: ConversationState) -> CaseDraft:
    """Derive a case draft from the answers of a submitted conversation."""
    a = state.answers
    strands = perceived_strands(a)
    role = a.get("reporter_role", "victim")
    perceived_by = list(a.get("perceived_by") or [])
    if strands and role == "victim":
        perceived_by = ["victim"]
    # Typed text and equality monitoring answers are personal (sealed); other choices are
    # kept in the clear for filtering.
    # A skipped question is kept as None with the choices, so staff can tell it from a
    # question not asked yet.
    choice_answers = {k: v for k, v in a.items()
                      if k in _STEPS and (not _personal(k) or v is None)}
    personal = {k: v for k, v in a.items() if k in _STEPS and _personal(k) and v is not None}
    consents = [
        (recipient, a[step] == "yes", state.answered_at.get(step, ""), CONSENT_WORDING_VERSION)
        for step, recipient in CONSENT_STEPS.items() if step in a
    ]
    return CaseDraft(
        hate_related=bool(strands),
        strands=strands,
        perceived_by=perceived_by,
        prejudice_indicators=find_indicators(a.get("narrative")),
        reporter_role=role,
        anonymous=a.get("anonymous") == "anonymous",
        incident_types=list(a.get("incident_types") or []),
        location_type=a.get("location_type"),
        immediate_danger=a.get("immediate_danger") == "yes",
        repair_needed=a.get("repair_needed") == "yes",
        preserve_evidence=a.get("repair_keep"),
        choice_answers=choice_answers,
        personal=personal,
        consents=consents,
    )
