"""The case page's thread with the reporter, diary entries and linked cases (issue 15).

One thread per case: the officer's messages (sent through the resident's channel, or left
to wait for a web chat or anonymous reporter until they reconnect with reference and
follow-up code) and the resident's replies, with the replies staff have not read marked as
new. Opening the case page marks them read; the view itself is audited by the case page.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import diary, thread
from bot.console import audit
from bot.models import Case, CaseMessage, utcnow

# A second click on the same form within this time leaves the message once.
_DOUBLE_CLICK = timedelta(minutes=1)


def case_context(session: Session, services, case: Case) -> dict:
    """Return the thread (with new markers), diary entries and linked cases for the page."""
    vault = services.vault
    messages = thread.messages(session, case)
    shown = [{"at": m.at, "sender": m.sender, "author": m.author, "channel": m.channel,
              "text": vault.open_text(m.text_enc),
              "new": m.sender == thread.RESIDENT and m.read_at is None,
              "waiting": m.sender == thread.STAFF and m.read_at is None} for m in messages]
    thread.mark_read_by_staff(session, case)
    entries = [(e, vault.open_json(e.details_enc) or {}) for e in diary.entries(session, case)]
    linked = session.get(Case, case.linked_case_id) if case.linked_case_id else None
    continued = session.scalars(select(Case.reference).where(Case.linked_case_id == case.id)
                                .order_by(Case.id)).all()
    return {"thread": shown, "unread": sum(1 for m in shown if m["new"]),
            "diary": entries, "linked": linked.reference if linked else None,
            "continued": list(continued)}


def leave(session: Session, services, case: Case, text: str, actor: str) -> bool:
    """Leave a message in the thread for the reporter to read on reconnecting."""
    vault = services.vault
    last = session.scalars(select(CaseMessage).where(
        CaseMessage.case_id == case.id, CaseMessage.sender == thread.STAFF,
        CaseMessage.author == actor).order_by(CaseMessage.id.desc()).limit(1)).first()
    if last is not None and utcnow() - last.at < _DOUBLE_CLICK \
            and vault.open_text(last.text_enc) == text:
        return False
    thread.add(session, vault, case, thread.STAFF, text, author=actor, channel=None)
    services.store.record(session, case, "message_left", actor)
    audit.record(session, actor, "message_left", case)
    return True
