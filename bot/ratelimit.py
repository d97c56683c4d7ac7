"""A per-sender message rate limit kept in the database, so it holds across workers.

Counts are per sender and per clock minute. Over the limit a message is not handled; the
sender gets at most one polite notice per minute, and the provider still gets a 200 (a 429
or 5xx would only make it deliver the burst again). Other senders are unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.models import Conversation, SenderRate, utcnow

KEEP = timedelta(hours=1)


@dataclass(frozen=True)
class Verdict:
    """Whether to handle a message, and whether to tell the sender to slow down."""

    allowed: bool
    notify: bool = False
    locale: str = "en"


def count(session: Session, conversation: Conversation, limit: int,
          now: datetime | None = None) -> Verdict:
    """Count one message of `conversation`'s sender and say whether it is within `limit`.

    Runs inside the conversation's turn, after the duplicate check, so a retried delivery
    of a handled message is never counted.
    """
    now = now or utcnow()
    window = now.replace(second=0, microsecond=0)
    channel, index = conversation.channel, conversation.sender_index
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = SenderRate.__table__
    seen = session.execute(
        insert(SenderRate)
        .values(channel=channel, sender_index=index, window_start=window, count=1,
                notified=False)
        .on_conflict_do_update(index_elements=["channel", "sender_index", "window_start"],
                               set_={"count": table.c.count + 1})
        .returning(table.c.count)
    ).scalar_one()
    if seen == 1:
        session.execute(delete(SenderRate).where(SenderRate.window_start < window - KEEP))
    if seen <= limit:
        return Verdict(True)
    notify = session.execute(
        update(SenderRate)
        .where(SenderRate.channel == channel, SenderRate.sender_index == index,
               SenderRate.window_start == window, SenderRate.notified.is_(False))
        .values(notified=True)
    ).rowcount == 1
    return Verdict(False, notify, conversation.locale or "en")
