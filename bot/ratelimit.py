"""A per-sender message rate limit kept in the database, so it holds across workers.

Counts are per sender and per clock minute. Over the limit a message is not handled; the
sender gets at most one polite notice per minute, and the provider still gets a 200 (a 429
or 5xx would only make it deliver the burst again). Other senders are unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.models import Conversation, InboundMessage, SenderRate, utcnow

KEEP = timedelta(hours=1)


@dataclass(frozen=True)
class Verdict:
    """Whether to handle a message, and whether to tell the sender to slow down."""

    allowed: bool
    notify: bool = False
    locale: str = "en"


def check(services, channel: str, sender: str, message_id: str, limit: int,
          now: datetime | None = None) -> Verdict:
    """Count one message from `sender` and say whether it is within `limit` per minute."""
    s = services
    now = now or utcnow()
    window = now.replace(second=0, microsecond=0)
    index = s.vault.index(channel, sender)
    with s.db.write() as session:
        # A retried delivery of a handled message is answered from the record, not counted.
        if session.scalar(select(InboundMessage.id).where(
                InboundMessage.channel == channel,
                InboundMessage.message_key == message_id)) is not None:
            return Verdict(True)
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table = SenderRate.__table__
        count = session.execute(
            insert(SenderRate)
            .values(channel=channel, sender_index=index, window_start=window, count=1,
                    notified=False)
            .on_conflict_do_update(index_elements=["channel", "sender_index", "window_start"],
                                   set_={"count": table.c.count + 1})
            .returning(table.c.count)
        ).scalar_one()
        if count == 1:
            session.execute(delete(SenderRate).where(SenderRate.window_start < window - KEEP))
        if count <= limit:
            return Verdict(True)
        notify = session.execute(
            update(SenderRate)
            .where(SenderRate.channel == channel, SenderRate.sender_index == index,
                   SenderRate.window_start == window, SenderRate.notified.is_(False))
            .values(notified=True)
        ).rowcount == 1
        locale = session.scalar(select(Conversation.locale).where(
            Conversation.channel == channel, Conversation.sender_index == index)) or "en"
        return Verdict(False, notify, locale)
