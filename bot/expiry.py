"""Conversations a resident walked away from: blanked, and deleted when no case came of them.

After the expiry period (REPORTBOT_CONVERSATION_EXPIRY_DAYS) of idleness:

- every conversation's saved answers are wiped (a submitted report is safe on its case),
  and the replies kept for answering retried deliveries are blanked (they may hold a
  review summary), while their message ids stay so a late replay changes nothing;
- a conversation that never became a case is deleted outright, with everything that
  hangs off it: handled-message records, outbox rows and their sent parts, files sent
  during it, its Telegram chat bookkeeping and its rate counts. If that resident writes
  again, they start a new conversation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import case, delete, exists, select, update
from sqlalchemy.orm import Session

from bot.models import (
    Case,
    Conversation,
    Evidence,
    InboundMessage,
    OutboxMessage,
    OutboxPart,
    RateCount,
    TelegramChat,
    utcnow,
)
from flows.engine import Phase

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("reportbot.expiry")

# Stored phases in which the case exists.
REPORT_SENT = frozenset(p.value for p in Phase if p.report_sent)
BATCH = 500


@dataclass(frozen=True)
class Purged:
    """What one purge did."""

    wiped: int  # conversations whose saved answers were wiped
    deleted: int  # conversations deleted (never a case)


def purge(services: Services, now: datetime | None = None) -> Purged:
    """Wipe idle conversations' answers and delete those that never became a case."""
    cutoff = (now or utcnow()) - timedelta(days=services.settings.conversation_expiry_days)
    with services.db.write() as session:
        wiped = session.execute(
            update(Conversation)
            .where(Conversation.updated_at < cutoff, Conversation.state_enc.is_not(None))
            .values(state_enc=None, phase=case(
                (Conversation.phase.in_(sorted(REPORT_SENT)), "closed"), else_="expired"))
        ).rowcount or 0
        session.execute(
            update(InboundMessage)
            .where(InboundMessage.received_at < cutoff)
            .values(replies_enc=services.vault.seal_json([]))
        )
    deleted = 0
    while True:
        with services.db.write() as session:
            done = _delete_abandoned(session, cutoff)
        deleted += done
        if done < BATCH:
            break
    if deleted:
        log.info("expiry: deleted %d abandoned conversation(s) that never became a case",
                 deleted)
    return Purged(wiped, deleted)


def _delete_abandoned(session: Session, cutoff: datetime) -> int:
    """Delete one batch of idle conversations that no case, file or message of a case uses."""
    conv = Conversation
    rows = session.execute(
        select(conv.id, conv.channel, conv.sender_index)
        .where(conv.updated_at < cutoff, conv.case_id.is_(None),
               ~exists().where(Case.conversation_id == conv.id),
               ~exists().where(Evidence.conversation_id == conv.id,
                               Evidence.case_id.is_not(None)),
               ~exists().where(OutboxMessage.conversation_id == conv.id,
                               OutboxMessage.case_id.is_not(None)))
        .order_by(conv.id).limit(BATCH).with_for_update(skip_locked=True)).all()
    if not rows:
        return 0
    ids = [r.id for r in rows]
    outbox = select(OutboxMessage.id).where(OutboxMessage.conversation_id.in_(ids))
    session.execute(delete(OutboxPart).where(OutboxPart.outbox_id.in_(outbox)))
    session.execute(delete(OutboxMessage).where(OutboxMessage.conversation_id.in_(ids)))
    session.execute(delete(InboundMessage).where(InboundMessage.conversation_id.in_(ids)))
    session.execute(delete(Evidence).where(Evidence.conversation_id.in_(ids)))
    telegram = [r.sender_index for r in rows if r.channel == "telegram"]
    if telegram:
        session.execute(delete(TelegramChat).where(TelegramChat.chat_index.in_(telegram)))
    for row in rows:
        session.execute(delete(RateCount).where(RateCount.kind == row.channel,
                                                RateCount.key_index == row.sender_index))
    session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
    return len(ids)
