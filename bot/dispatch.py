"""One conversation turn, from a parsed `Inbound` to the replies, in one transaction.

The turn locks the resident's conversation row, checks whether this provider message was
already handled (a retried webhook gets the same replies and changes nothing), runs the
pure flow, stores any submitted case through the flow's port, and saves the new state and
the replies together. If anything fails, nothing of the turn is kept and the provider's
retry replays it from the start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot import notify
from bot.intake import draft_from
from bot.models import Conversation, Evidence, InboundMessage, utcnow
from bot.services import Services
from flows.acknowledgement import Receipt
from flows.engine import ConversationState, Phase, Turn, TurnContext
from flows.messages import Inbound, Media, Outbound

# Channels that can carry a message to the resident later, not only a reply.
REPLY_CHANNELS = frozenset({"sms", "whatsapp", "telegram"})


@dataclass(frozen=True)
class TurnResult:
    """The replies to send, and whether the conversation has reached its end."""

    replies: tuple[Outbound, ...]
    done: bool
    duplicate: bool = False
    refused: bool = False


# Decides, inside a turn, whether a message is handled; returns replies to refuse it.
Admit = Callable[[Session, Conversation, datetime], "tuple[Outbound, ...] | None"]
# Runs inside a new turn's transaction with its result, e.g. to queue outbound messages.
Then = Callable[[Session, Conversation, TurnResult], None]


class _StorePorts:
    """The flow's side-effect port, bound to this turn's session and conversation."""

    def __init__(self, services: Services, session: Session, conversation: Conversation,
                 now: datetime) -> None:
        self.services = services
        self.session = session
        self.conversation = conversation
        self.now = now

    def submit_report(self, state: ConversationState) -> Receipt:
        """Store the report as a case in this turn's transaction and return its receipt."""
        store = self.services.store
        case = store.create(
            self.session, draft_from(state), channel=self.conversation.channel,
            language=state.locale, received_at=self.now,
            conversation_id=self.conversation.id,
        )
        self.conversation.case_id = case.id
        self.session.execute(
            update(Evidence)
            .where(Evidence.conversation_id == self.conversation.id,
                   Evidence.case_id.is_(None))
            .values(case_id=case.id)
        )
        store.record(self.session, case, "acknowledged", "reportbot",
                     channel=self.conversation.channel)
        notify.case_created(self.session, self.services, case)
        return Receipt(
            reference=case.reference, received_at=case.received_at,
            out_of_hours=case.out_of_hours, first_contact_due=case.first_contact_due,
            action_plan_due=case.action_plan_due, hate_related=case.hate_related,
        )


class Conversations:
    """Run conversation turns for every channel."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def handle(self, inbound: Inbound, create: bool = True, admit: Admit | None = None,
               then: Then | None = None) -> TurnResult | None:
        """Handle one resident message exactly once and return the replies.

        With `create=False` an unknown sender gets None instead of a new conversation (a
        web chat token must have been issued by us). `admit`, if given, runs inside the
        turn after the duplicate check (so a retried delivery is never counted against
        the sender) and may refuse the message with its own replies, e.g. a rate limit.
        `then`, if given, runs inside the same transaction after a new turn, so a channel
        can queue its outbound messages atomically with the turn that produced them.
        """
        s = self.services
        now = inbound.received_at or utcnow()
        with s.db.write() as session:
            conv = self._lock(session, inbound.channel, inbound.sender, now, create)
            if conv is None:
                return None
            seen = session.scalar(select(InboundMessage).where(
                InboundMessage.channel == inbound.channel,
                InboundMessage.message_key == _key(inbound.message_id),
            ))
            if seen is not None:
                replies = tuple(Outbound.from_json(r) for r in s.vault.open_json(
                    seen.replies_enc))
                return TurnResult(replies, conv.phase == Phase.SUBMITTED.value,
                                  duplicate=True)
            refusal = admit(session, conv, now) if admit is not None else None
            if refusal is not None:
                return TurnResult(refusal, False, refused=True)
            ctx = self._context(session, conv, now)
            self._keep_media(session, conv, inbound.media, now)
            turn = self._turn(conv, inbound, ctx, now)
            self._save(conv, turn, now, inbound=True)
            session.add(InboundMessage(
                channel=inbound.channel, message_key=_key(inbound.message_id),
                conversation_id=conv.id, received_at=now,
                replies_enc=s.vault.seal_json([r.as_json() for r in turn.replies]),
            ))
            result = TurnResult(turn.replies, turn.state.phase is Phase.SUBMITTED)
            if then is not None:
                then(session, conv, result)
            return result

    def open(self, channel: str, sender: str, language_hint: str | None = None,
             now: datetime | None = None) -> TurnResult:
        """Start (or restart) a conversation without a resident message, e.g. a web chat."""
        s = self.services
        now = now or utcnow()
        with s.db.write() as session:
            conv = self._lock(session, channel, sender, now)
            ctx = self._context(session, conv, now)
            turn = s.flow.start(ctx, s.catalogs.negotiate(language_hint) or "en")
            self._save(conv, turn, now, inbound=False)
            return TurnResult(turn.replies, False)

    # ---- pieces ----------------------------------------------------------------------

    def _turn(self, conv: Conversation, inbound: Inbound, ctx: TurnContext,
              now: datetime) -> Turn:
        s = self.services
        raw = s.vault.open_json(conv.state_enc)
        expiry = timedelta(days=s.settings.conversation_expiry_days)
        locale = (s.catalogs.negotiate(inbound.language_hint)
                  or (s.guess_language(inbound.text) if inbound.text else None)
                  or conv.locale or "en")
        state = ConversationState.from_json(raw) if raw is not None else None
        expired = conv.phase == "expired" or (
            state is not None and conv.updated_at is not None
            and now - conv.updated_at > expiry)
        if state is not None and not expired:
            return s.flow.handle(state, inbound, ctx)
        fresh = s.flow.start(ctx, state.locale if state else locale)
        unfinished = conv.phase == "expired" or (
            state is not None and state.phase is not Phase.SUBMITTED)
        if not expired or not unfinished:
            return fresh
        t = s.catalogs(fresh.state.locale)
        note = Outbound(
            text=t.gettext("Your unfinished report from before has expired, so we have "
                           "started again."),
            lang=fresh.state.locale, dir=fresh.replies[0].dir, input="none")
        return Turn(fresh.state, (note, *fresh.replies))

    def purge_expired(self, now: datetime | None = None) -> int:
        """Wipe the saved answers of conversations idle longer than the expiry period.

        Submitted reports are safe on their cases; this removes only the unfinished
        answers (personal data) that a resident walked away from. The replies kept for
        answering retried deliveries are blanked after the same period (they may hold a
        review summary), but the message ids stay, so a captured webhook replayed later
        can never be taken as a new answer.
        """
        s = self.services
        cutoff = (now or utcnow()) - timedelta(days=s.settings.conversation_expiry_days)
        with s.db.write() as session:
            result = session.execute(
                update(Conversation)
                .where(Conversation.updated_at < cutoff, Conversation.state_enc.is_not(None))
                .values(state_enc=None, phase=case((Conversation.phase == "submitted",
                                                    "closed"), else_="expired"))
            )
            session.execute(
                update(InboundMessage)
                .where(InboundMessage.received_at < cutoff)
                .values(replies_enc=s.vault.seal_json([]))
            )
            return result.rowcount or 0

    def _context(self, session: Session, conv: Conversation, now: datetime) -> TurnContext:
        s = self.services
        return TurnContext(
            translate=s.catalogs, languages=s.catalogs.languages, now=now,
            channel=conv.channel, org=s.org, ports=_StorePorts(s, session, conv, now),
            can_reply_later=conv.channel in REPLY_CHANNELS,
            detect=s.guess_language if len(s.catalogs.codes) > 1 else None,
        )

    def _save(self, conv: Conversation, turn: Turn, now: datetime, inbound: bool) -> None:
        state = turn.state
        if state.phase is Phase.SUBMITTED:
            # The answers now live, sealed, on the case; keep no second copy.
            state.answers.clear()
            state.answered_at.clear()
            state.history.clear()
        conv.state_enc = self.services.vault.seal_json(state.to_json())
        conv.phase = state.phase.value
        conv.locale = state.locale
        conv.updated_at = now
        if inbound:
            conv.last_inbound_at = now

    def locked(self, session: Session, channel: str, sender: str,
               now: datetime | None = None) -> Conversation:
        """Return the sender's conversation, created if new, locked for this transaction."""
        return self._lock(session, channel, sender, now or utcnow())

    def _lock(self, session: Session, channel: str, sender: str, now: datetime,
              create: bool = True) -> Conversation | None:
        """Return the sender's conversation on `channel`, created if new, locked for us."""
        vault = self.services.vault
        # Every configured key's index: during a key rotation a resident whose row is not
        # re-indexed yet is still found (bot/rotation.py).
        indexes = vault.indexes(channel, sender)
        query = (
            select(Conversation)
            .where(Conversation.channel == channel, Conversation.sender_index.in_(indexes))
            .order_by(Conversation.id).limit(1)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        found = session.scalars(query).first()
        if found is not None or not create:
            return found
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # Two first messages may race; the unique index lets exactly one insert win.
        session.execute(
            insert(Conversation)
            .values(channel=channel, sender_index=indexes[0], sender_enc=vault.seal(sender),
                    phase="new", locale="en", created_at=now, updated_at=now,
                    opted_out=False, unreachable=False)
            .on_conflict_do_nothing(index_elements=["channel", "sender_index"])
        )
        return session.scalars(query).first()

    def _keep_media(self, session: Session, conv: Conversation, media: tuple[Media, ...],
                    now: datetime) -> None:
        vault = self.services.vault
        for item in media:
            record = Evidence(
                conversation_id=conv.id, case_id=conv.case_id if conv.phase ==
                Phase.SUBMITTED.value else None, channel=conv.channel,
                content_type=item.content_type, received_at=now,
            )
            if item.data is not None:
                record.data_enc = vault.seal(item.data)
                record.size = len(item.data)
                record.sha256 = hashlib.sha256(item.data).hexdigest()
                record.status = "stored"
            else:
                record.source_enc = vault.seal(item.url or "")
                record.status = "pending"
                record.next_attempt_at = now
            session.add(record)


def _key(message_id: str) -> str:
    """Keep provider ids within the column; long ones are hashed, never truncated."""
    if len(message_id) <= 128:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()
