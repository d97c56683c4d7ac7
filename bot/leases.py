"""Claim due rows of a work table for one process: the outbox, and evidence to fetch.

A row is due when its status is "pending" and its `next_attempt_at` has passed. Claiming
adds one to `attempts` and moves `next_attempt_at` a lease ahead, in one transaction: on
PostgreSQL with FOR UPDATE SKIP LOCKED, so two workers take different rows; on SQLite under
the database's single writer lock (`Database.write`). Whoever holds a row records its outcome
before the lease runs out (`retry_at` for a temporary failure); a process that dies leaves
the row to come due again when its lease ends, so nothing is lost.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

PENDING = "pending"


def claim(session: Session, model: Any, *where: Any, limit: int, lease: timedelta,
          now: datetime, order_by: tuple = ()) -> list[Any]:
    """Lease up to `limit` due rows of `model` matching `where` to the caller."""
    query = (select(model)
             .where(model.status == PENDING, model.next_attempt_at <= now, *where)
             .order_by(*(order_by or (model.next_attempt_at, model.id)))
             .limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    for row in rows:
        row.attempts = (row.attempts or 0) + 1
        row.next_attempt_at = now + lease
    return rows


def born_leased(now: datetime, lease: timedelta) -> dict[str, Any]:
    """Return the column values of a new row already leased to the process creating it."""
    return {"status": PENDING, "attempts": 1, "next_attempt_at": now + lease}


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next attempt: exponential with jitter, at most an hour."""
    base = min(3600.0, 5.0 * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter only
