"""The outbox: messages that are not a direct reply, delivered with retries by the worker.

A message is enqueued in the same transaction as whatever caused it (a staff action, a
submitted case), so a crash can lose neither. Delivery claims a row for a short lease,
sends outside any transaction, then records the outcome; a worker that dies mid-send leaves
the lease to expire and the row is tried again. Each sender returns a `SendResult` that
says whether the message went, should be retried (and when), or failed for good.

Senders are registered per channel by the channel modules (Twilio, Telegram, email), so
this module knows nothing about any provider.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.models import OutboxMessage, utcnow

log = logging.getLogger("reportbot.outbox")

MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class SendResult:
    """How one delivery attempt went.

    `record`, if given, runs in the same transaction that records the outcome (a sender's
    own bookkeeping, e.g. which parts of a long message went), so the two never disagree.
    """

    status: str  # "sent", "retry" or "failed"
    error: str | None = None
    retry_after: float | None = None
    record: Callable[[Session], None] | None = None

    def with_record(self, record: Callable[[Session], None]) -> SendResult:
        """Return this result carrying `record`."""
        return SendResult(self.status, self.error, self.retry_after, record)

    @classmethod
    def sent(cls) -> SendResult:
        """Return a successful result."""
        return cls("sent")

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> SendResult:
        """Return a temporary failure, optionally with the provider's wait in seconds."""
        return cls("retry", error, retry_after)

    @classmethod
    def failed(cls, error: str) -> SendResult:
        """Return a permanent failure (e.g. the resident opted out)."""
        return cls("failed", error)


@dataclass(frozen=True)
class Envelope:
    """A claimed outbox message, opened for its sender."""

    id: int
    kind: str
    channel: str
    conversation_id: int | None
    case_id: int | None
    payload: Mapping[str, Any]
    attempts: int


Sender = Callable[[Envelope], SendResult]


def enqueue(session: Session, vault, *, kind: str, channel: str, payload: Mapping[str, Any],
            dedupe_key: str, conversation_id: int | None = None, case_id: int | None = None,
            not_before: datetime | None = None, claim: bool = False) -> int | None:
    """Add a message to the outbox once; return its id, or None if already queued.

    With `claim=True` the row is born leased to the calling process, which will try to
    send it right after its transaction commits (`Outbox.deliver_claimed`); if it dies
    first, the lease runs out and the worker sends it.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    return session.execute(
        insert(OutboxMessage).values(
            dedupe_key=dedupe_key, kind=kind, channel=channel,
            conversation_id=conversation_id, case_id=case_id,
            payload_enc=vault.seal_json(dict(payload)), status="pending",
            attempts=1 if claim else 0, next_attempt_at=not_before or now, created_at=now,
            claimed_until=now + LEASE if claim else None,
        ).on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    ).scalar_one_or_none()


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next attempt: exponential with jitter, at most an hour."""
    base = min(3600.0, 5.0 * (2 ** max(0, attempts - 1)))
    # Jitter spreads retries out; it guards nothing, so a non-cryptographic draw is right.
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311


class Outbox:
    """Deliver due outbox messages through the registered senders."""

    def __init__(self, services, senders: Mapping[str, Sender] | None = None) -> None:
        self.services = services
        self.senders: dict[str, Sender] = dict(senders or {})

    def register(self, channel: str, sender: Sender) -> None:
        """Use `sender` for messages on `channel`."""
        self.senders[channel] = sender

    def claim(self, limit: int = 20, now: datetime | None = None,
              ids: list[int] | None = None) -> list[Envelope]:
        """Lease up to `limit` due messages to this process."""
        now = now or utcnow()
        db, vault = self.services.db, self.services.vault
        with db.write() as session:
            query = (
                select(OutboxMessage)
                .where(OutboxMessage.status == "pending",
                       OutboxMessage.next_attempt_at <= now,
                       OutboxMessage.channel.in_(list(self.senders)),
                       or_(OutboxMessage.claimed_until.is_(None),
                           OutboxMessage.claimed_until < now))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
            )
            if ids is not None:
                query = query.where(OutboxMessage.id.in_(ids))
            if not db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = session.scalars(query).all()
            claimed = []
            for row in rows:
                row.claimed_until = now + LEASE
                row.attempts += 1
                claimed.append(Envelope(row.id, row.kind, row.channel, row.conversation_id,
                                        row.case_id, vault.open_json(row.payload_enc),
                                        row.attempts))
            return claimed

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
        now = utcnow()
        values: dict[str, Any] = {"claimed_until": None, "last_error": result.error}
        if result.status == "sent":
            values.update(status="sent", sent_at=now)
        elif result.status == "failed" or envelope.attempts >= MAX_ATTEMPTS:
            values.update(status="failed")
            log.warning("outbox %s: gave up on %s message (%s)", envelope.id,
                        envelope.channel, result.error)
        else:
            wait = timedelta(seconds=result.retry_after) if result.retry_after else \
                backoff(envelope.attempts)
            values.update(next_attempt_at=now + wait)
        with self.services.db.write() as session:
            if result.record is not None:
                result.record(session)
            session.execute(update(OutboxMessage).where(OutboxMessage.id == envelope.id)
                            .values(**values))

    def run_once(self, limit: int = 20, ids: list[int] | None = None) -> int:
        """Deliver what is due now; return how many messages were attempted."""
        envelopes = self.claim(limit, ids=ids)
        for envelope in envelopes:
            self.deliver(envelope)
        return len(envelopes)
