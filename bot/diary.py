"""Diary entries on a case: each new incident the resident adds after the report (4.3).

An entry keeps its own received time and channel; the resident's words, when and where are
sealed, and the strands and incident types are kept in plain columns like the case's. They
add to the case: an entry that names a reason can make the case hate-related and so high
priority (2.1, 4.2); nothing here ever lowers it. An entry on a closed case opens a new
case linked to the old one (`Case.linked_case_id`), so the record of each incident builds
up without reopening a closed investigation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import notify
from bot.intake import CaseDraft
from bot.models import Case, Conversation, DiaryEntry, FollowUpCode

_PLAIN = ("strands", "incident_types", "location_type")


def add(session: Session, services, case: Case, entry: Mapping[str, Any], *, channel: str,
        now: datetime, conversation: Conversation | None = None) -> Case:
    """Store a diary entry on the case (or on a new case linked to it, if it is closed)."""
    if case.status == "closed":
        case = _linked_case(session, services, case, entry, channel, now, conversation)
    strands = sorted(set(entry.get("strands") or []))
    if entry.get("reason") == "same":
        strands = sorted(set(strands) | set(case.strands or []))
    types = list(dict.fromkeys(entry.get("incident_types") or []))
    personal = {k: v for k, v in entry.items() if k not in _PLAIN}
    session.add(DiaryEntry(
        case_id=case.id, received_at=now, channel=channel, strands=strands,
        incident_types=types, location_type=entry.get("location_type"),
        details_enc=services.vault.seal_json(personal),
    ))
    added = [t for t in types if t not in (case.incident_types or [])]
    if added:
        case.incident_types = [*(case.incident_types or []), *added]
    services.store.record(session, case, "diary_entry", "resident", channel=channel,
                          strands=strands, incident_types=types)
    if strands and (not case.hate_related or not set(strands) <= set(case.strands or [])):
        was_high = case.priority == "high"
        case.mark_hate_related(strands, ["reporter"])
        services.store.record(session, case, "flagged_hate_related", "resident",
                              strands=strands, perceived_by=["reporter"], source="diary")
        if not was_high:
            notify.case_created(session, services, case, when=now)
    notify.resident_wrote(session, services, case, "diary entry", now)
    return case


def _linked_case(session: Session, services, old: Case, entry: Mapping[str, Any],
                 channel: str, now: datetime, conversation: Conversation | None) -> Case:
    """Open a new case for an entry on a closed one, linked to it, with its own code."""
    draft = CaseDraft(
        hate_related=False, strands=[], perceived_by=[], prejudice_indicators=[],
        reporter_role=old.reporter_role, anonymous=old.anonymous, incident_types=[],
        location_type=entry.get("location_type") or old.location_type,
        immediate_danger=False, repair_needed=False, preserve_evidence=None,
        choice_answers={k: v for k, v in (old.answers or {}).items()
                        if k in ("reporter_role", "anonymous", "contact_method",
                                 "leave_message")},
        personal={"narrative": entry.get("narrative")} if entry.get("narrative") else {},
        consents=[],
    )
    new = services.store.create(session, draft, channel=channel, language=old.language,
                                received_at=now,
                                conversation_id=conversation.id if conversation else None)
    new.linked_case_id = old.id
    services.store.record(session, new, "linked_to_closed_case", "resident",
                          linked_reference=old.reference)
    services.store.record(session, old, "continued_in_new_case", "resident",
                          new_reference=new.reference)
    # The resident keeps the code they have: the new case takes the same hash.
    code = session.get(FollowUpCode, old.id)
    if code is not None:
        session.add(FollowUpCode(case_id=new.id, code_hash=code.code_hash))
    notify.case_created(session, services, new, when=now)
    return new


def entries(session: Session, case: Case) -> list[DiaryEntry]:
    """Return the case's diary entries, oldest first."""
    return list(session.scalars(select(DiaryEntry).where(DiaryEntry.case_id == case.id)
                                .order_by(DiaryEntry.id)))
