"""Residents opting out of (and back in to) messages on a channel, recorded once per message.

SMS carriers and Twilio treat single words such as STOP as an opt-out; the channel spots
the word and calls `record`. The opt-out is kept on the resident's conversation, where the
outbox checks it before every message that is not a direct reply, and it shows on an open
case's timeline so the officer knows to use another way. The flow never sees the word.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from bot.models import Case, InboundMessage, utcnow
from flows.messages import Inbound, Outbound

RepliesFor = Callable[[str], tuple[Outbound, ...]]


def record(services, inbound: Inbound, opted_out: bool,
           replies_for: RepliesFor) -> tuple[Outbound, ...] | None:
    """Record an opt-out (or opt-in) from `inbound`'s sender and return the replies.

    Returns None for an opt-in word from someone who has not opted out: then the word is
    an ordinary answer (YES is also "yes"). A retried delivery gets the same replies and
    records nothing twice. `replies_for(locale)` says what to answer.
    """
    s = services
    now = inbound.received_at or utcnow()
    with s.db.write() as session:
        conv = s.conversations.locked(session, inbound.channel, inbound.sender, now)
        seen = session.scalar(select(InboundMessage).where(
            InboundMessage.channel == inbound.channel,
            InboundMessage.message_key == inbound.message_id,
        ))
        if seen is not None:
            return tuple(Outbound.from_json(r) for r in s.vault.open_json(seen.replies_enc))
        if not opted_out and not conv.opted_out:
            return None
        changed = bool(conv.opted_out) != opted_out
        conv.opted_out = opted_out
        conv.last_inbound_at = now
        if changed and conv.case_id is not None:
            case = session.get(Case, conv.case_id)
            if case is not None and case.status != "closed":
                kind = "resident_opted_out" if opted_out else "resident_opted_in"
                s.store.record(session, case, kind, "resident", channel=inbound.channel)
        replies = replies_for(conv.locale or "en")
        session.add(InboundMessage(
            channel=inbound.channel, message_key=inbound.message_id,
            conversation_id=conv.id, received_at=now,
            replies_enc=s.vault.seal_json([r.as_json() for r in replies]),
        ))
        return replies
