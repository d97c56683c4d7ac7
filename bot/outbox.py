"""The outbox: messages that are not a direct reply, delivered with retries by the worker.

A message is enqueued in the same transaction as whatever caused it (a staff action, a
submitted case, a turn's replies), so a crash can lose neither. Delivery leases a row
(bot/leases.py), sends outside any transaction, then records the outcome; a worker that
dies mid-send leaves the lease to run out and the row is tried again. Each sender returns
a `SendResult` that says whether the message went, should be retried (and when), or failed
for good, and which parts of a long message went, so a retry never repeats one.

Rows carry their target kind in `channel` ("sms", "telegram", "staff_email", …); the
senders for each kind come from whoever assembles the application (bot/app.py), so this
module knows nothing about any provider. A target kind may have its own `Policy`: how many
attempts before giving up (or never), and whether its rows go out in order, per `kind` and
case (webhooks: a receiver must see a case's events in the order they happened).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot import leases
from bot.models import OutboxMessage, OutboxPart, utcnow
from bot.sending import Envelope, Sender, SendResult
from bot.upsert import insert

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("reportbot.outbox")

MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)
backoff = leases.backoff


@dataclass(frozen=True)
class Policy:
    """How the outbox treats the rows of one target kind.

    `max_attempts` None means never give up (the row stays due, backing off up to an hour);
    `in_order` holds a row back while an earlier row with the same `kind` and case is not
    yet sent, including one that failed for good.
    """

    max_attempts: int | None = MAX_ATTEMPTS
    in_order: bool = False


DEFAULT_POLICY = Policy()


def enqueue(session: Session, vault, *, kind: str, channel: str, payload: Mapping[str, Any],
            dedupe_key: str, conversation_id: int | None = None, case_id: int | None = None,
            not_before: datetime | None = None, claim: bool = False) -> int | None:
    """Add a message to the outbox once; return its id, or None if already queued.

    With `claim=True` the row is born leased to the calling process, which will try to
    send it right after its transaction commits (`Outbox.deliver_claimed`); if it dies
    first, the lease runs out and the worker sends it.
    """
    now = utcnow()
    timing = leases.born_leased(now, LEASE) if claim else \
        {"status": leases.PENDING, "attempts": 0, "next_attempt_at": not_before or now}
    return session.execute(
        insert(session, OutboxMessage).values(
            dedupe_key=dedupe_key, kind=kind, channel=channel,
            conversation_id=conversation_id, case_id=case_id,
            payload_enc=vault.seal_json(dict(payload)), created_at=now, **timing,
        ).on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    ).scalar_one_or_none()


def pending_id(session: Session, dedupe_key: str) -> int | None:
    """Return the id of the still-pending message queued under `dedupe_key`, if any."""
    return session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.dedupe_key == dedupe_key, OutboxMessage.status == leases.PENDING))


def sent_parts(session: Session, outbox_id: int) -> set[int]:
    """Return the parts of a multi-part message already sent."""
    return set(session.scalars(select(OutboxPart.part).where(
        OutboxPart.outbox_id == outbox_id)))


class Outbox:
    """Deliver due outbox messages through the senders of each target kind."""

    def __init__(self, services: Services, senders: Mapping[str, Sender] | None = None,
                 policies: Mapping[str, Policy] | None = None) -> None:
        self.services = services
        self.senders: dict[str, Sender] = dict(senders or {})
        self.policies: dict[str, Policy] = dict(policies or {})

    def policy(self, channel: str) -> Policy:
        """Return the policy of a target kind."""
        return self.policies.get(channel, DEFAULT_POLICY)

    def claim(self, limit: int = 20, now: datetime | None = None,
              ids: list[int] | None = None) -> list[Envelope]:
        """Lease up to `limit` due messages to this process."""
        now = now or utcnow()
        where = [OutboxMessage.channel.in_(list(self.senders))]
        if ids is not None:
            where.append(OutboxMessage.id.in_(ids))
        ordered = [c for c in self.senders if self.policy(c).in_order]
        if ordered:
            earlier = aliased(OutboxMessage)
            waiting = exists().where(
                earlier.channel == OutboxMessage.channel, earlier.kind == OutboxMessage.kind,
                earlier.case_id == OutboxMessage.case_id, earlier.id < OutboxMessage.id,
                earlier.status != "sent")
            where.append(or_(OutboxMessage.channel.not_in(ordered), ~waiting))
        with self.services.db.write() as session:
            rows = leases.claim(session, OutboxMessage, *where, limit=limit, lease=LEASE,
                                now=now)
            open_json = self.services.vault.open_json
            return [Envelope(row.id, row.kind, row.channel, row.conversation_id, row.case_id,
                             open_json(row.payload_enc), row.attempts) for row in rows]

    def deliver(self, envelope: Envelope) -> SendResult:
        """Send one claimed message and record the outcome."""
        sender = self.senders[envelope.channel]
        try:
            result = sender(envelope)
        except Exception as exc:  # noqa: BLE001 - a sender bug must not stop the queue
            log.exception("outbox %s: sender for %s raised", envelope.id, envelope.channel)
            result = SendResult.retry(type(exc).__name__)
        self._record(envelope, result)
        return result

    def deliver_claimed(self, message_id: int, kind: str, channel: str,
                        payload: Mapping[str, Any], conversation_id: int | None = None,
                        case_id: int | None = None) -> SendResult:
        """Send a row this process enqueued with `claim=True`, without claiming it again."""
        return self.deliver(Envelope(message_id, kind, channel, conversation_id, case_id,
                                     payload, attempts=1))

    def _record(self, envelope: Envelope, result: SendResult) -> None:
        self.record_all([(envelope, result)])

    def record_all(self, outcomes: list[tuple[Envelope, SendResult]]) -> None:
        """Record several sends' outcomes (and the parts that went) in one transaction."""
        now = utcnow()
        with self.services.db.write() as session:
            for envelope, result in outcomes:
                for part, provider_id in result.parts:
                    session.add(OutboxPart(outbox_id=envelope.id, part=part,
                                           provider_message_id=provider_id))
                session.execute(update(OutboxMessage).where(OutboxMessage.id == envelope.id)
                                .values(**self._outcome(envelope, result, now)))

    def _outcome(self, envelope: Envelope, result: SendResult, now: datetime
                 ) -> dict[str, Any]:
        values: dict[str, Any] = {"last_error": result.error}
        if result.status == "sent":
            values.update(status="sent", sent_at=now)
            if result.provider_ref:
                values.update(provider_ref=result.provider_ref[:64])
        elif result.status == "failed" or self._exhausted(envelope):
            values.update(status="failed")
            log.warning("outbox %s: gave up on %s message (%s)", envelope.id,
                        envelope.channel, result.error)
        else:
            wait = timedelta(seconds=result.retry_after) if result.retry_after else \
                backoff(envelope.attempts)
            values.update(next_attempt_at=now + wait)
        return values

    def _exhausted(self, envelope: Envelope) -> bool:
        limit = self.policy(envelope.channel).max_attempts
        return limit is not None and envelope.attempts >= limit

    def run_once(self, limit: int = 20, ids: list[int] | None = None) -> int:
        """Deliver what is due now; return how many messages were attempted."""
        envelopes = self.claim(limit, ids=ids)
        for envelope in envelopes:
            self.deliver(envelope)
        return len(envelopes)
