"""Erase a case's personal data, keeping the facts that monitoring counts.

What is erased is everything sealed that belongs to the case: the resident's answers
(free text and equality monitoring), the closure reason, officers' notes, evidence files,
messages queued for the resident, the contact-detail indexes, and, once none of its cases
is kept any more, the conversation itself: who the sender was, its state and the replies
kept for retried deliveries. What stays are the plain, non-personal columns every figure is
counted from (strands, incident types, channel, dates, deadlines met or missed, outcome),
the timeline and the audit log. Every erasure is recorded on the case's timeline and in
the audit log, with the reason.

`PERSONAL_DATA` says, for every table with sealed columns, how erasure deals with it; a
test fails when a table with sealed columns is missing from it. A table not listed that
refers to a case (`case_id`) is still erased with the case, generically, so nothing sealed
is left behind by a table added later.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Table, func, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from bot import audit
from bot.models import (
    Base,
    Case,
    CaseMessage,
    CaseNote,
    Conversation,
    DiaryEntry,
    Evidence,
    InboundMessage,
    OutboxMessage,
    RateCount,
    SubjectIdentifier,
    TelegramChat,
    utcnow,
)
from bot.sealed import SEALED_SUFFIX
from flows.types import Phase

# How each table with sealed columns is erased (or why it is kept).
PERSONAL_DATA: dict[str, str] = {
    "cases": "answers and closure reason replaced; erased_at set; plain facts kept",
    "case_notes": "text replaced by a note that it was erased",
    "case_messages": "text of the case's thread replaced by a note that it was erased",
    "diary_entries": "the resident's words, when and where removed; strands, incident "
                     "types, channel and time kept",
    "evidence": "file, source address and checksum removed; type, size and time kept",
    "outbox": "payload emptied; anything still pending is not sent",
    "conversations": "sender, index and state removed once none of its cases is kept",
    "inbound_messages": "kept replies emptied; message ids kept against replays",
    "telegram_chats": "deleted with the conversation",
    "subject_requests": "kept: the register of access and erasure requests "
                        "(accountability); its note is staff-written",
}
_HANDLED = frozenset(PERSONAL_DATA)
# Bulk statements here touch rows this session has not loaded, so the ORM's per-statement
# synchronisation of the session (most of an erasure's cost) is skipped.
_BULK = {"synchronize_session": False}
# Conversation phases in which nobody is in the middle of a report: a report already sent
# (adding optional details to it counts as that report), or none begun.
_DONE_PHASES = tuple(sorted({p.value for p in Phase if p.report_sent}
                            | {"closed", "expired", "erased", "new"}))


def erased_marker(reason: str, now: datetime) -> str:
    """Return the text left where staff-written personal text was erased."""
    return f"[erased on {now.date().isoformat()}: {reason}]"


def erase_case(session: Session, services, case: Case, actor: str, reason: str,
               now: datetime | None = None) -> bool:
    """Erase the case's personal data; False if it was already erased.

    The conversation the case came from is erased too once no other kept case needs it and
    nobody is in the middle of a report on it (`erase_conversation` does it regardless).
    """
    if case.erased_at is not None:
        return False
    now = now or utcnow()
    vault = services.vault
    marker = vault.seal(erased_marker(reason, now))
    case.details_enc = vault.seal_json({})
    if case.closure_reason_enc is not None:
        case.closure_reason_enc = marker
    case.erased_at = now
    session.execute(update(CaseNote).where(CaseNote.case_id == case.id)
                    .values(text_enc=marker), execution_options=_BULK)
    session.execute(update(CaseMessage).where(CaseMessage.case_id == case.id)
                    .values(text_enc=marker), execution_options=_BULK)
    session.execute(update(DiaryEntry).where(DiaryEntry.case_id == case.id)
                    .values(details_enc=vault.seal_json({})), execution_options=_BULK)
    evidence = _erase_evidence(session, Evidence.case_id == case.id)
    _erase_outbox(session, vault, OutboxMessage.case_id == case.id)
    session.execute(sql_delete(SubjectIdentifier).where(SubjectIdentifier.case_id == case.id),
                    execution_options=_BULK)
    _erase_generic(session, vault, case.id)
    conversation_erased = False
    if case.conversation_id is not None:
        conversation = session.get(Conversation, case.conversation_id, with_for_update=True)
        if conversation is not None:
            conversation_erased = _after_case(session, vault, case, conversation)
    detail = {"reason": reason, "evidence_files": evidence,
              "conversation_erased": conversation_erased}
    services.store.record(session, case, "personal_data_erased", actor, **detail)
    audit.record(session, actor, "case_erased", case, **detail)
    return True


def _after_case(session: Session, vault, case: Case, conversation: Conversation) -> bool:
    """Erase the conversation if nothing else needs it, else only this report's replies."""
    others = session.scalar(select(func.count(Case.id)).where(
        Case.conversation_id == conversation.id, Case.id != case.id,
        Case.erased_at.is_(None)))
    if not others and conversation.phase in _DONE_PHASES:
        return erase_conversation(session, vault, conversation)
    # The resident is still using this conversation: empty the replies kept from the
    # turns of this report only.
    session.execute(update(InboundMessage).where(
        InboundMessage.conversation_id == conversation.id,
        InboundMessage.received_at <= case.received_at).values(replies_enc=vault.seal_json([])),
        execution_options=_BULK)
    return False


def erase_conversation(session: Session, vault, conversation: Conversation) -> bool:
    """Remove who the sender was and everything said; False if already erased."""
    if conversation.phase == "erased":
        return False
    old_index = conversation.sender_index
    conversation.sender_enc = None
    conversation.state_enc = None
    # A random value keeps the unique (channel, sender_index) pair without any link to the
    # person; if they write again, they start a new conversation.
    conversation.sender_index = "erased:" + secrets.token_hex(16)
    conversation.phase = "erased"
    session.execute(update(InboundMessage).where(
        InboundMessage.conversation_id == conversation.id)
        .values(replies_enc=vault.seal_json([])), execution_options=_BULK)
    _erase_evidence(session, (Evidence.conversation_id == conversation.id))
    _erase_outbox(session, vault, OutboxMessage.conversation_id == conversation.id)
    session.execute(sql_delete(RateCount).where(RateCount.kind == conversation.channel,
                                                RateCount.key_index == old_index),
                    execution_options=_BULK)
    if conversation.channel == "telegram":
        session.execute(sql_delete(TelegramChat).where(TelegramChat.chat_index == old_index),
                        execution_options=_BULK)
    return True


def _erase_evidence(session: Session, where) -> int:
    result = session.execute(
        update(Evidence).where(where, Evidence.status != "erased")
        .values(data_enc=None, source_enc=None, sha256=None, status="erased",
                next_attempt_at=None), execution_options=_BULK)
    return result.rowcount or 0


def _erase_outbox(session: Session, vault, where) -> None:
    session.execute(update(OutboxMessage).where(where, OutboxMessage.status == "pending")
                    .values(status="erased"), execution_options=_BULK)
    session.execute(update(OutboxMessage).where(where).values(payload_enc=vault.seal_json({})),
                    execution_options=_BULK)


def _erase_generic(session: Session, vault, case_id: int) -> None:
    """Erase the sealed columns of any table not listed above that refers to the case."""
    for table in unlisted_case_tables():
        values = {c.name: (None if c.nullable else vault.seal_json(None))
                  for c in table.columns if c.name.endswith(SEALED_SUFFIX)}
        session.execute(update(table).where(table.c.case_id == case_id).values(**values))


def unlisted_case_tables() -> list[Table]:
    """Return tables with sealed columns and a `case_id` that `PERSONAL_DATA` does not list."""
    return [t for t in Base.metadata.sorted_tables
            if t.name not in _HANDLED and "case_id" in t.c
            and any(c.name.endswith(SEALED_SUFFIX) for c in t.columns)]
