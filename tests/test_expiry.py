"""Abandoned conversations (issue 14): deleted, with every row that hangs off them, once
idle past the expiry period; a conversation that became a case is only blanked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot import expiry
from bot.models import (
    Case,
    Conversation,
    Evidence,
    InboundMessage,
    OutboxMessage,
    OutboxPart,
    RateCount,
    TelegramChat,
)
from bot.outbox import enqueue
from flows.messages import Media
from tests.helpers import VICTIM_REPORT, Resident


def _count(services, model, *where) -> int:
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_abandoned_conversations_are_deleted_with_their_rows(any_services):
    services = any_services
    finished = Resident(services, channel="sms", sender="+447700900501")
    finished.follow(VICTIM_REPORT)
    walked_away = Resident(services, channel="sms", sender="+447700900502")
    walked_away.follow(VICTIM_REPORT[:4])
    walked_away.says("", media=(Media("image/jpeg", data=b"\xff\xd8\xff\xe0fictional"),))
    on_telegram = Resident(services, channel="telegram", sender="700000555")
    on_telegram.says("no")
    with services.db.write() as session:
        gone = {c.channel: c for c in session.scalars(select(Conversation).where(
            Conversation.case_id.is_(None)))}
        row = enqueue(session, services.vault, kind="reply", channel="sms",
                      payload={"to": "+447700900502", "text": "fictional"},
                      dedupe_key="test:abandoned-reply", conversation_id=gone["sms"].id)
        session.add(OutboxPart(outbox_id=row, part=0))
        session.add(TelegramChat(chat_index=gone["telegram"].sender_index,
                                 last_unanswered=False))
        session.add(RateCount(kind="sms", key_index=gone["sms"].sender_index,
                              window_start=datetime(2026, 1, 1, tzinfo=UTC), count=1))
    ids = [c.id for c in gone.values()]
    assert _count(services, InboundMessage, InboundMessage.conversation_id.in_(ids)) > 0
    assert _count(services, Evidence, Evidence.conversation_id.in_(ids)) == 1

    assert expiry.purge(services, datetime.now(UTC) + timedelta(days=6)).deleted == 0
    purged = expiry.purge(services, datetime.now(UTC) + timedelta(days=8))
    assert purged.deleted == 2 and purged.wiped == 3

    for model, where in ((Conversation, Conversation.id.in_(ids)),
                         (InboundMessage, InboundMessage.conversation_id.in_(ids)),
                         (Evidence, Evidence.conversation_id.in_(ids)),
                         (OutboxMessage, OutboxMessage.conversation_id.in_(ids)),
                         (OutboxPart, OutboxPart.outbox_id == row),
                         (TelegramChat, None), (RateCount, None)):
        assert _count(services, model, *([where] if where is not None else [])) == 0, model
    # The case and its conversation stay (blanked), with the replayable message ids.
    with services.db.read() as session:
        [kept] = session.scalars(select(Conversation)).all()
        assert kept.case_id is not None and kept.state_enc is None
        assert session.scalar(select(func.count()).select_from(Case)) == 1
    assert _count(services, InboundMessage, InboundMessage.conversation_id == kept.id) > 0
    # The resident who walked away starts afresh.
    walked_away.says("hello")
    assert walked_away.asked == "immediate_danger"
