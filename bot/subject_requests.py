"""Subject access and erasure requests: the register, the export, and erasure on request.

Each request handled is kept in `SubjectRequest` (the register a data protection officer is
asked for), and every step is in the audit log: the search (which kind of identifier and
how much it found, never the identifier), the export (and each case it included), the
erasure (and each case erased, with the ground). Used by the console and the CLI alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import audit, erasure, subject_export
from bot.models import Case, Conversation, SubjectRequest, utcnow
from bot.subjects import REPORTER, Found, find

# The grounds for erasure of UK GDPR Article 17(1) staff choose from.
GROUNDS = {
    "no_longer_needed": "No longer needed for the purpose it was collected for",
    "consent_withdrawn": "The person withdrew their consent",
    "objection": "The person objected and there is no overriding reason to keep it",
    "unlawful": "It was processed unlawfully",
    "legal_obligation": "The law requires it to be erased",
}


class ErasureRefused(Exception):
    """The erasure cannot be done as asked; the message says why, for staff."""


@dataclass(frozen=True)
class Erased:
    """What an erasure request erased."""

    request_id: int
    cases: int
    conversations: int
    kept: int = 0


def search(session: Session, services, identifier, actor: str) -> Found:
    """Find what is linked to `identifier`, recording the search (not the identifier)."""
    found = find(session, services.vault, identifier)
    audit.record(session, actor, "subject_search", kind=identifier.kind,
                 cases=len(found.cases), conversations=len(found.conversations))
    return found


def export(session: Session, services, identifier, actor: str, locale: str,
           case_ids: set[int] | None = None,
           conversation_ids: set[int] | None = None) -> tuple[int, str]:
    """Build the export of the chosen cases and conversations; returns (request id, HTML)."""
    found = find(session, services.vault, identifier)
    document = subject_export.build(session, services, found, locale, case_ids,
                                    conversation_ids)
    included = _chosen(found.cases, case_ids)
    request = SubjectRequest(at=utcnow(), actor=actor, kind="access",
                             identifier_kind=identifier.kind, detail={
                                 "cases": len(included), "language": locale,
                                 "conversations": len(_chosen(found.conversations,
                                                              conversation_ids))})
    session.add(request)
    session.flush()
    audit.record(session, actor, "subject_access_exported", request_id=request.id,
                 cases=len(included), language=locale)
    for case in session.scalars(select(Case).where(Case.id.in_(included))):
        audit.record(session, actor, "case_exported_for_subject", case,
                     request_id=request.id, role=found.cases[case.id])
    return request.id, subject_export.render(document)


def erase(session: Session, services, identifier, actor: str, ground: str, note: str,
          case_ids: set[int] | None = None,
          conversation_ids: set[int] | None = None) -> Erased:
    """Erase the person's chosen cases and conversations, with the ground recorded.

    Only the person's own reports are erased: a report someone else made that names them
    belongs to that reporter too, so it is kept (and counted as kept). A case still open is
    still being acted on: the whole request is refused, so staff decide (close it first, or
    keep it).
    """
    if ground not in GROUNDS:
        raise ErasureRefused("Choose the ground for erasure.")
    if not note.strip():
        raise ErasureRefused("Say why, and on whose request, the data is erased.")
    found = find(session, services.vault, identifier)
    chosen = _chosen(found.cases, case_ids)
    cases = session.scalars(select(Case).where(Case.id.in_(chosen)).order_by(Case.id)
                            .with_for_update()).all()
    kept = [case for case in cases if found.cases[case.id] != REPORTER]
    cases = [case for case in cases if found.cases[case.id] == REPORTER]
    for case in cases:
        if case.status != "closed" and case.erased_at is None:
            raise ErasureRefused(f"Case {case.reference} is still open: close it first, "
                                 "or keep it while it is being acted on.")
    request = SubjectRequest(at=utcnow(), actor=actor, kind="erasure",
                             identifier_kind=identifier.kind, ground=ground,
                             note_enc=services.vault.seal(note.strip()), detail={})
    session.add(request)
    session.flush()
    reason = f"subject request {request.id}: {ground}"
    conversations = _chosen(found.conversations, conversation_ids)
    touched = conversations | {c.conversation_id for c in cases if c.conversation_id}
    before = _erased_conversations(session, touched)
    erased_cases = sum(erasure.erase_case(session, services, case, actor, reason)
                       for case in cases)
    for conversation in session.scalars(select(Conversation).where(
            Conversation.id.in_(conversations)).with_for_update()):
        erasure.erase_conversation(session, services.vault, conversation)
    session.flush()
    erased_conversations = _erased_conversations(session, touched) - before
    request.detail = {"cases": erased_cases, "conversations": erased_conversations,
                      "kept_reported_by_others": len(kept)}
    audit.record(session, actor, "subject_erased", request_id=request.id, ground=ground,
                 **request.detail)
    return Erased(request.id, erased_cases, erased_conversations, len(kept))


def _chosen(found, wanted: set[int] | None) -> set[int]:
    return set(found) if wanted is None else set(found) & wanted


def _erased_conversations(session: Session, ids: set[int]) -> int:
    return len(session.scalars(select(Conversation.id).where(
        Conversation.id.in_(ids), Conversation.phase == "erased")).all())
