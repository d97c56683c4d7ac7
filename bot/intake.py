"""Turn a conversation's answers into the fields of a case, and each later detail into one.

Choice answers (stable ids) are not personal on their own and are kept in plain columns for
filtering and monitoring; everything typed by the resident, and the equality monitoring
answers, are sealed. Every answer keeps the time it was given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flows.engine import ConversationState, Kind
from flows.report import (
    CONSENT_WORDING_VERSION,
    MONITORING_STEPS,
    REPORT_STEPS,
    SIGNS_ANSWER,
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
    answer_times: dict[str, str] = field(default_factory=dict)
    # The area chosen by staff; otherwise the store finds it from the address's postcode.
    area: str | None = None


@dataclass(frozen=True)
class Detail:
    """One optional detail answered after the acknowledgement, ready for the case."""

    step: str
    value: Any
    answered_at: str
    personal: bool
    monitoring: bool
    consent_recipient: str | None


def is_personal(step_id: str) -> bool:
    """Return whether an answer is sealed: typed text, or an equality monitoring answer."""
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
                      if k in _STEPS and (not is_personal(k) or v is None)}
    personal = {k: v for k, v in a.items() if k in _STEPS and is_personal(k) and v is not None}
    consents = [
        (recipient, a[step] == "yes", state.answered_at.get(step, ""), CONSENT_WORDING_VERSION)
        for step, recipient in CONSENT_STEPS.items() if step in a
    ]
    return CaseDraft(
        hate_related=bool(strands),
        strands=strands,
        perceived_by=perceived_by,
        prejudice_indicators=list(a.get(SIGNS_ANSWER) or []),
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
        answer_times={k: v for k, v in state.answered_at.items() if k in a and k in _STEPS},
    )


def detail_from(state: ConversationState, step_id: str) -> Detail:
    """Return the detail just answered in a conversation that is adding details."""
    return Detail(
        step=step_id,
        value=state.answers.get(step_id),
        answered_at=state.answered_at.get(step_id, ""),
        personal=is_personal(step_id),
        monitoring=step_id in MONITORING,
        consent_recipient=CONSENT_STEPS.get(step_id),
    )


def open_details(choices: dict[str, Any], details: dict[str, Any],
                 answer_times: dict[str, str] | None) -> list[str]:
    """Return the ids of optional details that apply to a case and have no answer yet.

    Equality monitoring is left out: whether someone answered it is nobody's business.
    """
    known = {**choices, **details}
    times = answer_times or {}
    return [s.id for s in REPORT_STEPS
            if not s.essential and s.id not in MONITORING and s.id not in known
            and s.id not in times and s.applies(known)]
