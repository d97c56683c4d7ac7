"""The delivery port: the few things a channel may ask of the database besides a turn.

A channel never opens a session. To send what is not a reply, it asks who a conversation's
resident is and what they allowed (`recipient`); it records what the provider said about
them (`mark`: opted out, unreachable, reachable again) and what it could not deliver
(`needs_officer`); it queues and sends outbox messages with its own sender; it keeps a
chat's memo (keyboard ticks) and a polling cursor. Every verb runs in its own short
transaction, except those a turn offers inside its own (bot/runner.py `TurnTx`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot import chatmemo, leases
from bot.models import Case, Conversation, OutboxMessage, TelegramCursor, utcnow
from bot.outbox import Outbox, Sender, enqueue, pending_id, sent_parts
from bot.sending import Envelope, SendResult

if TYPE_CHECKING:
    from bot.runner import ConversationRunner
    from bot.services import Services


# A message's delivery statuses in the order they can happen; a later report never moves
# a message back (a late "sent" after "delivered"), and failures are final.
_ORDER = {"accepted": 0, "scheduled": 0, "queued": 0, "sending": 1, "sent": 2,
          "delivered": 3, "read": 4, "canceled": 5, "failed": 5, "undelivered": 5}
_FAILED = frozenset({"failed", "undelivered"})


def _rank(status: str | None) -> int:
    return -1 if status is None else _ORDER.get(status, 0)


@dataclass(frozen=True)
class Recipient:
    """Who a conversation's messages go to, and what they told us about contact."""

    conversation_id: int
    channel: str
    address: str
    locale: str
    opted_out: bool
    unreachable: bool
    last_inbound_at: datetime | None
    case_id: int | None
    contact_method: str | None
    anonymous: bool

    @property
    def reachable(self) -> bool:
        """Return whether anything but a direct reply may be sent to them."""
        return not (self.opted_out or self.unreachable)


class Delivery:
    """Narrow verbs over the database for channels (see the module docstring)."""

    def __init__(self, services: Services, runner: ConversationRunner) -> None:
        self._services = services
        self._runner = runner

    # ---- residents -------------------------------------------------------------------

    def recipient(self, conversation_id: int, case_id: int | None = None
                  ) -> Recipient | None:
        """Return the resident of a conversation, with their case's contact answers."""
        s = self._services
        with s.db.read() as session:
            conv = session.get(Conversation, conversation_id)
            if conv is None or conv.sender_enc is None:
                return None
            return self._recipient(session, conv, case_id or conv.case_id)

    def recipient_on(self, channel: str, like: Recipient) -> Recipient:
        """Return the same address's conversation on `channel` (created if new)."""
        s = self._services
        with s.db.write() as session:
            conv = self._runner.locked(session, channel, like.address)
            found = self._recipient(session, conv, like.case_id)
        return Recipient(found.conversation_id, channel, like.address,
                         found.locale or like.locale, found.opted_out, found.unreachable,
                         found.last_inbound_at, like.case_id, like.contact_method,
                         like.anonymous)

    def mark(self, conversation_id: int, *, opted_out: bool = False,
             unreachable: bool = False, case_id: int | None = None) -> None:
        """Record that a provider said the resident opted out or cannot be reached."""
        s = self._services
        with s.db.write() as session:
            conv = session.get(Conversation, conversation_id, with_for_update=True)
            if conv is None:
                return
            conv.opted_out = conv.opted_out or opted_out
            conv.unreachable = conv.unreachable or unreachable
            found = session.get(Case, case_id or conv.case_id) \
                if (case_id or conv.case_id) else None
            if found is not None and found.status != "closed":
                kind = "resident_opted_out" if opted_out else "resident_unreachable"
                s.store.record(session, found, kind, "reportbot", channel=conv.channel)

    def mark_reachable(self, channel: str, address: str) -> None:
        """Writing to us again (or unblocking us) means the resident can be reached again."""
        s = self._services
        indexes = s.vault.indexes(channel, address)
        with s.db.read() as session:
            blocked = session.scalar(select(Conversation.id).where(
                Conversation.channel == channel, Conversation.sender_index.in_(indexes),
                Conversation.unreachable.is_(True)))
        if blocked is not None:
            with s.db.write() as session:
                conv = session.get(Conversation, blocked, with_for_update=True)
                if conv is None or not conv.unreachable:
                    return  # another worker cleared it first
                conv.unreachable = False
                found = session.get(Case, conv.case_id) if conv.case_id else None
                if found is not None and found.status != "closed":
                    s.store.record(session, found, "resident_reachable", "reportbot",
                                   channel=channel)

    def delivery_status(self, provider_ref: str, status: str, error_code: str | None
                        ) -> None:
        """Record what a provider reported about a message it was given (a status callback).

        The status goes on the outbox row sent under that provider id, never backwards
        (callbacks may arrive out of order); a failure is recorded with its error code, and
        on the case's timeline when the message belonged to one, so the officer knows it
        did not arrive. A status about a message that is not ours changes nothing.
        """
        s = self._services
        with s.db.write() as session:
            row = session.scalar(select(OutboxMessage).where(
                OutboxMessage.provider_ref == provider_ref).with_for_update())
            if row is None or _rank(status) < _rank(row.delivery_status):
                return
            row.delivery_status = status
            if status not in _FAILED:
                return
            row.last_error = f"{status}: provider error {error_code or 'unknown'}"
            found = session.get(Case, row.case_id) if row.case_id else None
            if found is not None:
                s.store.record(session, found, "message_not_delivered", "reportbot",
                               outbox_id=row.id, channel=row.channel,
                               error_code=error_code or "unknown")

    def needs_officer(self, case_id: int | None, outbox_id: int, channel: str,
                      reason: str) -> None:
        """Say on the case that a message must be delivered another way."""
        if case_id is None:
            return
        s = self._services
        with s.db.write() as session:
            found = session.get(Case, case_id)
            if found is not None:
                s.store.record(session, found, "message_needs_officer", "reportbot",
                               outbox_id=outbox_id, channel=channel, reason=reason)

    # ---- the outbox ------------------------------------------------------------------

    def key(self, channel: str, address: str) -> str:
        """Return a keyed hash of an address, safe to use in a dedupe key."""
        return self._services.vault.index(channel, address)

    def send(self, *, kind: str, channel: str, payload: Mapping[str, Any], dedupe_key: str,
             conversation_id: int | None, sender: Sender) -> None:
        """Queue a message once under `dedupe_key` and try to deliver it now.

        A second call with the same key (a redelivered update) queues nothing and sends
        whatever the first left pending, unless another process holds its lease.
        """
        with self._services.db.write() as session:
            row = enqueue(session, self._services.vault, kind=kind, channel=channel,
                          payload=payload, dedupe_key=dedupe_key,
                          conversation_id=conversation_id, claim=True)
            pending = None if row is not None else pending_id(session, dedupe_key)
        if row is not None:
            self.send_claimed(row, kind, channel, payload, conversation_id, sender)
        elif pending is not None:
            self.send_due([pending], channel, sender)

    def queue(self, *, kind: str, channel: str, payload: Mapping[str, Any], dedupe_key: str,
              conversation_id: int | None) -> tuple[Envelope, frozenset[int]] | None:
        """Queue a message once under `dedupe_key`, leased to this process to send now.

        Returns the message and the parts of it already sent, for the caller to send; or
        None when there is nothing to send (a redelivery of a message that already went,
        or one another process holds the lease of). Sending is the caller's, and its
        outcome goes to `record`.
        """
        s = self._services
        with s.db.write() as session:
            row = enqueue(session, s.vault, kind=kind, channel=channel, payload=payload,
                          dedupe_key=dedupe_key, conversation_id=conversation_id, claim=True)
            pending = None if row is not None else pending_id(session, dedupe_key)
        if row is not None:
            return Envelope(row, kind, channel, conversation_id, None, payload, 1), frozenset()
        if pending is None:
            return None
        claimed = Outbox(s, {channel: _never_sent}).claim(limit=1, ids=[pending])
        if not claimed:
            return None
        return claimed[0], frozenset(self.sent_parts(pending))

    def unsent_before(self, envelope: Envelope) -> list[int]:
        """Return the earlier messages to the same conversation that are still unsent."""
        if envelope.conversation_id is None:
            return []
        with self._services.db.read() as session:
            return list(session.scalars(select(OutboxMessage.id).where(
                OutboxMessage.channel == envelope.channel,
                OutboxMessage.conversation_id == envelope.conversation_id,
                OutboxMessage.id < envelope.id,
                OutboxMessage.status == leases.PENDING)))

    def record(self, outcomes: list[tuple[Envelope, SendResult]]) -> None:
        """Record how sends this process made went, in one transaction."""
        if outcomes:
            Outbox(self._services).record_all(outcomes)

    def send_claimed(self, row: int, kind: str, channel: str, payload: Mapping[str, Any],
                     conversation_id: int | None, sender: Sender) -> None:
        """Send a row this process queued born leased (in a turn), without claiming it."""
        Outbox(self._services, {channel: sender}).deliver_claimed(
            row, kind, channel, payload, conversation_id)

    def send_due(self, ids: list[int], channel: str, sender: Sender) -> int:
        """Try to deliver these rows now if they are due; the worker retries the rest."""
        if not ids:
            return 0
        return Outbox(self._services, {channel: sender}).run_once(limit=len(ids), ids=ids)

    def sent_parts(self, outbox_id: int) -> set[int]:
        """Return the parts of a multi-part message that already went."""
        with self._services.db.read() as session:
            return sent_parts(session, outbox_id)

    # ---- a chat's memo and a polling cursor -------------------------------------------

    def memo(self, channel: str, address: str) -> chatmemo.ChatMemo:
        """Return a chat's memo (keyboard ticks, last message)."""
        s = self._services
        with s.db.read() as session:
            return chatmemo.read(session, s.vault, channel, address)

    def update_memo(self, channel: str, address: str,
                    change: Callable[[chatmemo.ChatMemo], None]) -> chatmemo.ChatMemo:
        """Change a chat's memo under its lock; return the memo as stored."""
        s = self._services
        with s.db.write() as session:
            return chatmemo.update(session, s.vault, channel, address, change)

    def cursor(self, name: str) -> int | None:
        """Return a polling cursor (the next offset to ask for), if any."""
        with self._services.db.read() as session:
            return session.scalar(select(TelegramCursor.next_offset).where(
                TelegramCursor.bot_id == name))

    def advance_cursor(self, name: str, offset: int) -> None:
        """Move a polling cursor forward (never back)."""
        with self._services.db.write() as session:
            row = session.get(TelegramCursor, name)
            if row is None:
                session.add(TelegramCursor(bot_id=name, next_offset=offset))
            else:
                row.next_offset = max(row.next_offset, offset)
                row.updated_at = utcnow()

    # ---- pieces ----------------------------------------------------------------------

    def _recipient(self, session, conv: Conversation, case_id: int | None) -> Recipient:
        found = session.get(Case, case_id) if case_id else None
        return Recipient(
            conversation_id=conv.id, channel=conv.channel,
            address=self._services.vault.open_text(conv.sender_enc) or "",
            locale=conv.locale or "en", opted_out=bool(conv.opted_out),
            unreachable=bool(conv.unreachable), last_inbound_at=conv.last_inbound_at,
            case_id=found.id if found else None,
            contact_method=(found.answers or {}).get("contact_method") if found else None,
            anonymous=bool(found.anonymous) if found else False,
        )


def _never_sent(envelope: Envelope) -> SendResult:
    """A sender that only lets the outbox claim rows of a kind; the caller sends them."""
    raise NotImplementedError
