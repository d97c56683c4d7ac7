"""The conversation runner: one turn, from a parsed `Inbound` to the replies, in one transaction.

A turn locks the resident's conversation row, checks whether this provider message was
already handled (a retried webhook gets the same replies and changes nothing), counts the
message against the channel's rate limit, runs the pure flow, stores a submitted case
through the flow's port, and saves the new state and the replies together. If anything
fails, nothing of the turn is kept and the provider's retry replays it from the start.

Opt-out words go through the same duplicate check (`opt_out`), so a retried STOP records
nothing twice. Channels see only this runner and the delivery port (bot/delivery.py): they
never open a database session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot import chatmemo, expiry, followup, notify, ratelimit, survey
from bot.followup_ports import FollowUpPorts
from bot.intake import detail_from, draft_from
from bot.models import Case, Conversation, Evidence, InboundMessage, utcnow
from bot.outbox import enqueue
from bot.turns import ConversationView, RateLimit, TurnResult
from bot.upsert import insert
from flows import partial, places
from flows.acknowledgement import Receipt
from flows.engine import ConversationState, Phase, Turn, TurnContext
from flows.messages import Inbound, Media, Outbound

if TYPE_CHECKING:
    from bot.services import Services

# Stored phases in which the case exists: files sent now belong to it.
_REPORT_SENT = expiry.REPORT_SENT

# The hot path's statements, built once: a turn only binds its values (building and
# hashing a statement each turn cost about as much as running it on SQLite).
_CONVERSATIONS = Conversation.__table__
_INBOUND = InboundMessage.__table__
_FIND = (
    select(Conversation)
    .where(Conversation.channel == bindparam("channel"),
           Conversation.sender_index.in_(bindparam("indexes", expanding=True)))
    .order_by(Conversation.id).limit(1)
    .with_for_update()
    .execution_options(populate_existing=True)
)
# The SET clause comes from the parameters' names (all but `_id`).
_UPDATE = update(_CONVERSATIONS).where(_CONVERSATIONS.c.id == bindparam("_id"))
_RECORD = {
    name: dialect.insert(_INBOUND)
    .on_conflict_do_nothing(index_elements=["conversation_id", "message_key"])
    .returning(_INBOUND.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}

class _Duplicate(Exception):  # noqa: N818 - a signal inside the runner, never raised out
    """This message was handled before: undo the turn and answer with the stored replies."""

    def __init__(self, conversation_id: int, done: bool, locale: str | None) -> None:
        super().__init__(conversation_id)
        self.conversation_id = conversation_id
        self.done = done
        self.locale = locale


class TurnTx:
    """What a channel may do inside a turn's transaction, atomically with the turn."""

    def __init__(self, session: Session, services: Services, conversation: Conversation):
        self._session = session
        self._services = services
        self.conversation_id = conversation.id
        self.locale = conversation.locale or "en"
        self._channel = conversation.channel

    def queue(self, *, kind: str, channel: str, payload: Mapping[str, Any], dedupe_key: str,
              claim: bool = True) -> int | None:
        """Queue an outbox message for this conversation (born leased if `claim`)."""
        return enqueue(self._session, self._services.vault, kind=kind, channel=channel,
                       payload=payload, dedupe_key=dedupe_key,
                       conversation_id=self.conversation_id, claim=claim)

    def note_message(self, sender: str, message_id: int | None, unanswered: bool) -> None:
        """Record the sender's last message in their chat memo (channel bookkeeping), in
        the turn's transaction."""
        chatmemo.note_message(self._session, self._services.vault, self._channel, sender,
                              message_id, unanswered)


# Runs inside a new turn's transaction with its result, e.g. to queue outbound messages.
Then = Callable[[TurnTx, TurnResult], None]


class _StorePorts(FollowUpPorts):
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
        for kind, detail in partial.case_notes(state.notes):
            store.record(self.session, case, kind, "reportbot", **detail)
        notify.case_created(self.session, self.services, case)
        return Receipt(
            reference=case.reference, received_at=case.received_at,
            out_of_hours=case.out_of_hours, first_contact_due=case.first_contact_due,
            action_plan_due=case.action_plan_due, hate_related=case.hate_related,
            follow_up_code=followup.issue(self.session, self.services, case),
        )

    def add_detail(self, state: ConversationState, step: str) -> None:
        """Store one detail on the case this conversation submitted, in this turn."""
        self.services.store.add_detail(self.session, self.conversation.case_id,
                                       detail_from(state, step))


class ConversationRunner:
    """Run conversation turns for every channel.

    `reply_later` names the channels that can carry a message to the resident later, not
    only a reply (the app factory reads it from the channels' declared limits).
    """

    def __init__(self, services: Services, reply_later: frozenset[str] = frozenset()) -> None:
        self.services = services
        self.reply_later = reply_later

    def handle(self, inbound: Inbound, create: bool = True, rate_limit: RateLimit | None = None,
               then: Then | None = None,
               opt_in: Callable[[str], tuple[Outbound, ...]] | None = None
               ) -> TurnResult | None:
        """Handle one resident message exactly once and return the replies.

        With `create=False` an unknown sender gets None instead of a new conversation (a
        web chat token must have been issued by us). `rate_limit` is counted inside the
        turn after the duplicate check, so a retried delivery is never counted against
        the sender. `then`, if given, runs inside the same transaction after a new turn,
        so a channel can queue its outbound messages atomically with the turn. `opt_in`,
        for an opt-in word (YES is also "yes"), records the opt-in of a sender who opted out
        as `opt_out` would, answering with `opt_in(locale)`; for anyone else the word is an
        ordinary answer, and the turn costs no separate transaction to find that out.
        """
        s = self.services
        now = inbound.received_at or utcnow()
        try:
            with s.db.write() as session:
                return self._handle(session, inbound, now, create, rate_limit, then, opt_in)
        except _Duplicate as duplicate:
            return self._replay(duplicate, inbound)

    def _handle(self, session: Session, inbound: Inbound, now: datetime, create: bool,
                rate_limit: RateLimit | None, then: Then | None,
                opt_in: Callable[[str], tuple[Outbound, ...]] | None = None
                ) -> TurnResult | None:
        """Run one turn in `session`; raise `_Duplicate` (undoing it) for a handled message.

        The hot path is three statements: lock the conversation, insert the message id
        (which is also the duplicate check), update the conversation. The rate count lives
        on the conversation row, so the update keeps it; a duplicate rolls everything back,
        the count included, so a retried delivery is never counted against the sender.
        """
        s = self.services
        conv = self._lock(session, inbound.channel, inbound.sender, now, create)
        if conv is None:
            return None
        if opt_in is not None and conv.opted_out:
            replies = self._opt(session, conv, inbound, False, opt_in, now)
            return TurnResult(replies or (), conv.phase == Phase.SUBMITTED.value,
                              locale=conv.locale)
        # A retry is answered as the conversation stood before this turn (the original
        # turn's outcome), whatever this turn would have done.
        duplicate = _Duplicate(conv.id, conv.phase == Phase.SUBMITTED.value, conv.locale)
        counted = None
        if rate_limit is not None:
            verdict, counted = ratelimit.tally(_tally_of(conv), rate_limit.limit,
                                               rate_limit.window, now)
            if not verdict.allowed:
                # A retry of a message handled before the limit was reached gets its
                # replies, not a refusal (a refused message itself is not recorded).
                if self._seen(session, conv.id, inbound) is not None:
                    raise duplicate
                _update(session, conv, {}, counted)
                return TurnResult(self._refusal(conv, rate_limit, verdict), False,
                                  refused=True, locale=conv.locale,
                                  retry_after=verdict.retry_after)
        # After a case closes, its satisfaction survey takes the answers (13.1).
        answered = survey.answer(session, s, conv, inbound, now)
        turn = None
        if answered is not None:
            replies, done = answered, conv.phase == Phase.SUBMITTED.value
            locale = conv.locale
        else:
            ctx = self._context(session, conv, now)
            self._keep_media(session, conv, (*inbound.media, *_place_file(inbound)), now)
            turn = self._turn(conv, inbound, ctx, now)
            replies, done = turn.replies, turn.state.phase is Phase.SUBMITTED
            locale = turn.state.locale
        # The conversation's own changes come after the insert that checks for a
        # duplicate, so the turn costs one UPDATE and a duplicate none.
        if not self._remember(session, conv, inbound, replies, now):
            raise duplicate
        if turn is not None:
            self._save(session, conv, turn, now, inbound=True, counted=counted)
        else:
            _update(session, conv, {"last_inbound_at": now}, counted)
        result = TurnResult(replies, done, locale=locale)
        if then is not None:
            then(TurnTx(session, s, conv), result)
        return result

    def _replay(self, duplicate: _Duplicate, inbound: Inbound) -> TurnResult:
        """Answer a message this conversation already handled with the replies it got."""
        with self.services.db.read() as session:
            replies = self._seen(session, duplicate.conversation_id, inbound)
        if replies is None:  # pragma: no cover - the insert that refused it saw the row
            raise RuntimeError("a duplicate message's record is missing")
        return TurnResult(replies, duplicate.done, duplicate=True, locale=duplicate.locale)

    def open(self, channel: str, sender: str, language_hint: str | None = None,
             now: datetime | None = None) -> TurnResult:
        """Start (or restart) a conversation without a resident message, e.g. a web chat."""
        s = self.services
        now = now or utcnow()
        with s.db.write() as session:
            conv = self._lock(session, channel, sender, now)
            ctx = self._context(session, conv, now)
            turn = s.flow.start(ctx, s.catalogs.negotiate(language_hint) or "en")
            self._save(session, conv, turn, now, inbound=False)
            return TurnResult(turn.replies, False, locale=turn.state.locale)

    def opt_out(self, inbound: Inbound, opted_out: bool,
                replies_for: Callable[[str], tuple[Outbound, ...]]
                ) -> tuple[Outbound, ...] | None:
        """Record an opt-out (or opt-in) word from `inbound`'s sender, once per message.

        Returns None for an opt-in word from someone who has not opted out: then the word
        is an ordinary answer (YES is also "yes"). A retried delivery gets the same replies
        and records nothing twice. The opt-out is kept on the conversation, where the outbox
        honours it, and shows on an open case's timeline. `replies_for(locale)` says what to
        answer.
        """
        now = inbound.received_at or utcnow()
        with self.services.db.write() as session:
            conv = self._lock(session, inbound.channel, inbound.sender, now)
            return self._opt(session, conv, inbound, opted_out, replies_for, now)

    def _opt(self, session: Session, conv: Conversation, inbound: Inbound, opted_out: bool,
             replies_for: Callable[[str], tuple[Outbound, ...]], now: datetime
             ) -> tuple[Outbound, ...] | None:
        if not opted_out and not conv.opted_out:
            # An ordinary answer (or its retry, which `handle` recognises).
            return None
        seen = self._seen(session, conv.id, inbound)
        if seen is not None:
            return seen
        changed = bool(conv.opted_out) != opted_out
        conv.opted_out = opted_out
        conv.last_inbound_at = now
        if changed and conv.case_id is not None:
            found = session.get(Case, conv.case_id)
            if found is not None and found.status != "closed":
                kind = "resident_opted_out" if opted_out else "resident_opted_in"
                self.services.store.record(session, found, kind, "resident",
                                           channel=inbound.channel)
        replies = replies_for(conv.locale or "en")
        self._remember(session, conv, inbound, replies, now)
        return replies

    def allow(self, kind: str, key: str, limit: int, window: timedelta,
              now: datetime | None = None) -> ratelimit.Verdict:
        """Count one event of `key` (e.g. a client address) under `kind` against `limit`."""
        s = self.services
        with s.db.write() as session:
            return ratelimit.count(session, kind, s.vault.index(kind, key), limit, window,
                                   now or utcnow())

    def peek(self, channel: str, sender: str) -> ConversationView | None:
        """Return what a channel may know of `sender`'s conversation, without locking it."""
        s = self.services
        with s.db.read() as session:
            conv = session.scalar(select(Conversation).where(
                Conversation.channel == channel,
                Conversation.sender_index.in_(s.vault.indexes(channel, sender)))
                .order_by(Conversation.id).limit(1))
        if conv is None:
            return None
        question = reference = None
        if conv.state_enc is not None:
            state = ConversationState.from_json(s.vault.open_json(conv.state_enc))
            question, reference = state.question, state.reference
        return ConversationView(conv.id, conv.locale or "en", conv.phase, question,
                                conv.state_enc is not None, bool(conv.unreachable),
                                reference)

    def last_question(self, conversation_id: int) -> Outbound | None:
        """Return the question last put to this conversation, as it was sent."""
        s = self.services
        with s.db.read() as session:
            sealed = session.scalar(select(InboundMessage.replies_enc)
                                    .where(InboundMessage.conversation_id == conversation_id)
                                    .order_by(InboundMessage.id.desc()).limit(1))
        replies = [Outbound.from_json(r) for r in s.vault.open_json(sealed) or ()]
        questions = [r for r in replies if r.question]
        return questions[-1] if questions else None

    def purge_expired(self, now: datetime | None = None) -> int:
        """Wipe idle conversations' answers, delete those that never became a case
        (bot/expiry.py); return how many were wiped."""
        return expiry.purge(self.services, now).wiped

    def locked(self, session: Session, channel: str, sender: str,
               now: datetime | None = None) -> Conversation:
        """Return the sender's conversation, created if new, locked for this transaction."""
        return self._lock(session, channel, sender, now or utcnow())

    # ---- pieces ----------------------------------------------------------------------

    def _turn(self, conv: Conversation, inbound: Inbound, ctx: TurnContext,
              now: datetime) -> Turn:
        s = self.services
        raw = s.vault.open_json(conv.state_enc)
        expiry = timedelta(days=s.settings.conversation_expiry_days)
        state = ConversationState.from_json(raw) if raw is not None else None
        expired = conv.phase == "expired" or (
            state is not None and conv.updated_at is not None
            and now - conv.updated_at > expiry)
        if state is not None and not expired:
            return s.flow.handle(state, inbound, ctx)
        fresh = s.flow.start(ctx, state.locale if state else self._first_locale(conv, inbound))
        unfinished = conv.phase == "expired" or (
            state is not None and not state.phase.report_sent)
        if not expired or not unfinished:
            return fresh
        t = s.catalogs(fresh.state.locale)
        note = Outbound(
            text=t.gettext("Your unfinished report from before has expired, so we have "
                           "started again."),
            lang=fresh.state.locale, dir=fresh.replies[0].dir, input="none")
        return Turn(fresh.state, (note, *fresh.replies))

    def _first_locale(self, conv: Conversation, inbound: Inbound) -> str:
        """Return the language to greet a conversation's first message in.

        Only a conversation without a state starts from a guess; an ongoing one keeps the
        resident's language, and the flow guesses itself while a guess may still be offered
        (flows/language.py), so the guesser runs only where its answer can be used.
        """
        s = self.services
        return (s.catalogs.negotiate(inbound.language_hint)
                or (s.guess_language(inbound.text) if inbound.text else None)
                or conv.locale or "en")

    def _seen(self, session: Session, conversation_id: int, inbound: Inbound
              ) -> tuple[Outbound, ...] | None:
        """Return the replies this conversation's message already got, or None if new."""
        # Only this conversation's messages: a key is the sender's (or their page's) own
        # id, and must never return another conversation's replies.
        sealed = session.scalar(select(InboundMessage.replies_enc).where(
            InboundMessage.conversation_id == conversation_id,
            InboundMessage.message_key == _key(inbound.message_id),
        ))
        if sealed is None:
            return None
        return tuple(Outbound.from_json(r) for r in self.services.vault.open_json(sealed))

    def _remember(self, session: Session, conv: Conversation, inbound: Inbound,
                  replies: tuple[Outbound, ...], now: datetime) -> bool:
        """Record that this message was handled, with its replies for a retry.

        Returns False if the conversation already has it: the unique key makes this
        insert the duplicate check, even against a retry handled at the same moment.
        """
        stored = session.execute(_RECORD[session.get_bind().dialect.name], {
            "channel": inbound.channel, "message_key": _key(inbound.message_id),
            "conversation_id": conv.id, "received_at": now,
            "replies_enc": self.services.vault.seal_json([r.as_json() for r in replies]),
        }).first()
        return stored is not None

    def _refusal(self, conv: Conversation, limit: RateLimit,
                 verdict: ratelimit.Verdict) -> tuple[Outbound, ...]:
        """Return the one notice of a window over the limit (nothing for later messages)."""
        if not verdict.notify:
            return ()
        locale = conv.locale or "en"
        notice = self.services.catalogs(locale).gettext(limit.notice)
        return (Outbound(text=notice, lang=locale),)

    def _context(self, session: Session, conv: Conversation, now: datetime) -> TurnContext:
        s = self.services
        return TurnContext(
            translate=s.catalogs, languages=s.catalogs.languages, now=now,
            channel=conv.channel, org=s.org, ports=_StorePorts(s, session, conv, now),
            can_reply_later=conv.channel in self.reply_later,
            detect=s.guess_language if len(s.catalogs.codes) > 1 else None,
            prejudice_signs=s.signs.in_language,
        )

    def _save(self, session: Session, conv: Conversation, turn: Turn, now: datetime,
              inbound: bool, counted: ratelimit.Tally | None = None) -> None:
        state = turn.state
        if state.phase is Phase.SUBMITTED:
            # The answers now live, sealed, on the case; keep no second copy.
            state.answers.clear()
            state.answered_at.clear()
            state.history.clear()
        values = {"state_enc": self.services.vault.seal_json(state.to_json()),
                  "phase": state.phase.value, "locale": state.locale, "updated_at": now}
        if inbound:
            values["last_inbound_at"] = now
        _update(session, conv, values, counted)

    def _lock(self, session: Session, channel: str, sender: str, now: datetime,
              create: bool = True) -> Conversation | None:
        """Return the sender's conversation on `channel`, created if new, locked for us."""
        vault = self.services.vault
        # Every configured key's index: during a key rotation a resident whose row is not
        # re-indexed yet is still found (bot/rotation.py).
        indexes = vault.indexes(channel, sender)
        where = {"channel": channel, "indexes": list(indexes)}
        found = session.scalars(_FIND, where).first()
        if found is not None or not create:
            return found
        # Two first messages may race; the unique index lets exactly one insert win.
        session.execute(
            insert(session, Conversation)
            .values(channel=channel, sender_index=indexes[0], sender_enc=vault.seal(sender),
                    phase="new", locale="en", created_at=now, updated_at=now,
                    opted_out=False, unreachable=False)
            .on_conflict_do_nothing(index_elements=["channel", "sender_index"])
        )
        return session.scalars(_FIND, where).first()

    def _keep_media(self, session: Session, conv: Conversation, media: tuple[Media, ...],
                    now: datetime) -> None:
        vault = self.services.vault
        for item in media:
            record = Evidence(
                conversation_id=conv.id, case_id=conv.case_id if conv.phase in
                _REPORT_SENT else None, channel=conv.channel,
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


def _place_file(inbound: Inbound) -> tuple[Media, ...]:
    """Return a shared location as a file to keep with the evidence (GeoJSON), if any."""
    if inbound.location is None:
        return ()
    return (Media(places.GEOJSON_TYPE, data=places.to_geojson(inbound.location)),)


def _update(session: Session, conv: Conversation, values: dict[str, Any],
            counted: ratelimit.Tally | None = None) -> None:
    """Write `values` (and the rate count) to the conversation's row in one UPDATE.

    A Core statement, not the ORM's flush (which cost as much as the rest of the turn); the
    loaded object takes the values as already stored, so the flush does not repeat them.
    """
    if counted is not None:
        values = {**values, "rate_window_start": counted.window_start,
                  "rate_count": counted.count, "rate_notified": counted.notified}
    session.execute(_UPDATE, {"_id": conv.id, **values})
    for name, value in values.items():
        set_committed_value(conv, name, value)


def _tally_of(conv: Conversation) -> ratelimit.Tally:
    return ratelimit.Tally(conv.rate_window_start, conv.rate_count or 0,
                           bool(conv.rate_notified))


def _key(message_id: str) -> str:
    """Keep provider ids within the column; long ones are hashed, never truncated."""
    if len(message_id) <= 128:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()

