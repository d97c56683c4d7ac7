"""A case's message thread between the resident and staff (two-way for everyone).

Officers' messages are kept here for every case. On SMS, WhatsApp and Telegram they are
also sent through the channel, as before (bot/console/messaging.py); for a web chat or an
anonymous reporter they wait here, and are shown in order when the resident next
reconnects with their reference and code. Residents' replies land here too, and the
officer is told. The text is sealed; `read_at` is when the other side read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import notify
from bot.models import Case, CaseMessage, utcnow

STAFF = "staff"
RESIDENT = "resident"


@dataclass(frozen=True)
class Counts:
    """How many messages a case's thread holds, by whom, and how many staff have not read."""

    from_resident: int
    from_staff: int
    unread_by_staff: int


def add(session: Session, vault, case: Case, sender: str, text: str, *, author: str | None,
        channel: str | None, at: datetime | None = None,
        read: bool = False) -> CaseMessage:
    """Append a message to the case's thread (`read`: already carried to the other side)."""
    at = at or utcnow()
    message = CaseMessage(case_id=case.id, at=at, sender=sender, author=author,
                          channel=channel, text_enc=vault.seal(text),
                          read_at=at if read else None)
    session.add(message)
    session.flush()
    return message


def resident_reply(session: Session, services, case: Case, text: str, channel: str,
                   now: datetime) -> None:
    """Keep the resident's message on the case and tell the officer."""
    add(session, services.vault, case, RESIDENT, text, author=None, channel=channel, at=now)
    services.store.record(session, case, "resident_message", "resident", channel=channel)
    notify.resident_wrote(session, services, case, "message", now)


def messages(session: Session, case: Case) -> list[CaseMessage]:
    """Return the case's thread, oldest first."""
    return list(session.scalars(select(CaseMessage).where(CaseMessage.case_id == case.id)
                                .order_by(CaseMessage.at, CaseMessage.id)))


def for_resident(session: Session, vault, case: Case, unread_only: bool,
                 now: datetime) -> list[tuple[str, datetime, str]]:
    """Return (sender, at, text) in order, marking staff messages read by the resident."""
    shown = [m for m in messages(session, case)
             if not unread_only or (m.sender == STAFF and m.read_at is None)]
    unread = [m.id for m in shown if m.sender == STAFF and m.read_at is None]
    if unread:
        session.execute(update(CaseMessage).where(CaseMessage.id.in_(unread))
                        .values(read_at=now))
    return [(m.sender, m.at, vault.open_text(m.text_enc) or "") for m in shown]


def mark_read_by_staff(session: Session, case: Case, now: datetime | None = None) -> int:
    """Mark the resident's messages read by staff; return how many were unread."""
    result = session.execute(update(CaseMessage).where(
        CaseMessage.case_id == case.id, CaseMessage.sender == RESIDENT,
        CaseMessage.read_at.is_(None)).values(read_at=now or utcnow()))
    return result.rowcount or 0


def counts(session: Session, case_ids: list[int]) -> dict[int, Counts]:
    """Return the thread counts of each case (cases without messages are left out)."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(CaseMessage.case_id, CaseMessage.sender,
               func.count(), func.count(CaseMessage.read_at))
        .where(CaseMessage.case_id.in_(case_ids))
        .group_by(CaseMessage.case_id, CaseMessage.sender)).all()
    found: dict[int, dict[str, int]] = {}
    for case_id, sender, total, read in rows:
        seen = found.setdefault(case_id, {"resident": 0, "staff": 0, "unread": 0})
        seen[sender] = total
        if sender == RESIDENT:
            seen["unread"] = total - read
    return {k: Counts(v["resident"], v["staff"], v["unread"]) for k, v in found.items()}
