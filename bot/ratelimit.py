"""One rate limiter for every channel, kept in the database so it holds across workers.

A limit counts one key (a sender's blind index, a session, a client address's blind index)
under a `kind` in clock windows of any length: a minute for messages, an hour for new web
chat sessions. Windows are aligned to the epoch, so every worker agrees where one starts.
Over the limit the caller refuses the message; `notify` is true exactly once per window, so
a sender is told to slow down once, not once per extra message. Other keys are unaffected.

A conversation's messages are counted on the conversation's own row (`tally`), which the
turn has locked and will update anyway; `count` keeps the counts of everything else in
`rate_counts` (e.g. new web chat sessions per client address).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from bot.models import RateCount, utcnow
from bot.upsert import insert

# Kinds keyed by a client address's blind index rather than a conversation's sender.
WEBCHAT_ADDRESS = "webchat_address"
ADDRESS_KINDS = (WEBCHAT_ADDRESS,)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Verdict:
    """Whether to handle a message, whether to tell the sender, and when to try again."""

    allowed: bool
    notify: bool = False
    retry_after: int = 0  # whole seconds until the window ends (0 when allowed)


def window_start(now: datetime, window: timedelta) -> datetime:
    """Return the start of the epoch-aligned window of length `window` holding `now`."""
    seconds = int(window.total_seconds())
    stamp = int(now.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds, tz=UTC)


@dataclass(frozen=True)
class Tally:
    """A sender's count in its current window, as kept on their conversation's row."""

    window_start: datetime | None = None
    count: int = 0
    notified: bool = False


def tally(counted: Tally, limit: int, window: timedelta, now: datetime
          ) -> tuple[Verdict, Tally]:
    """Count one message against `limit`; return the verdict and the count to keep.

    The same verdicts as `count`, without a statement: the runner reads the count from the
    conversation row it has locked and keeps the new one with the turn's one UPDATE, after
    its duplicate check (a duplicate's transaction is rolled back, count and all).
    """
    start = window_start(now, window)
    if counted.window_start != start:
        counted = Tally(start)
    seen = counted.count + 1
    if seen <= limit:
        return Verdict(True), Tally(start, seen, counted.notified)
    left = (start + window - now).total_seconds()
    return (Verdict(False, not counted.notified, max(1, math.ceil(left))),
            Tally(start, seen, True))


def count(session: Session, kind: str, key_index: str, limit: int,
          window: timedelta = MINUTE, now: datetime | None = None) -> Verdict:
    """Count one event of `key_index` under `kind` and say whether it is within `limit`.

    Runs in the caller's transaction: a turn counts after its duplicate check, so a retried
    delivery of a handled message is never counted.
    """
    now = now or utcnow()
    start = window_start(now, window)
    table = RateCount.__table__
    seen = session.execute(
        insert(session, RateCount)
        .values(kind=kind, key_index=key_index, window_start=start, count=1, notified=False)
        .on_conflict_do_update(index_elements=["kind", "key_index", "window_start"],
                               set_={"count": table.c.count + 1})
        .returning(table.c.count)
    ).scalar_one()
    if seen == 1:
        # The first count of a window clears this kind's finished windows.
        session.execute(delete(RateCount).where(RateCount.kind == kind,
                                                RateCount.window_start < start - window))
    if seen <= limit:
        return Verdict(True)
    notify = session.execute(
        update(RateCount)
        .where(RateCount.kind == kind, RateCount.key_index == key_index,
               RateCount.window_start == start, RateCount.notified.is_(False))
        .values(notified=True)
    ).rowcount == 1
    left = (start + window - now).total_seconds()
    return Verdict(False, notify, max(1, math.ceil(left)))
