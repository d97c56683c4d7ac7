"""Console sign-in throttling, kept in the database so it holds across workers.

Failures are counted per account name, per client address and per trusted browser (a
browser where that account signed in before carries a signed device cookie). Each key may
fail a few times freely; after that every further failure makes it wait longer (15 s,
30 s, 1 min ... at most 15 min), and an attempt while it waits is refused without counting.

Why not a fixed lock: anyone who knows a colleague's user name could keep them out. Here the
account's own browser is judged only by its own failures (`device`), so a stranger's
guesses elsewhere never shut its owner out; new browsers and addresses face the account's and
the address's delays. Keys are blind indexes: no name or address is stored. Unknown names
are counted like real ones, so the throttle tells nothing about which accounts exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.models import LoginThrottle


@dataclass(frozen=True)
class Rule:
    """How many failures a key may have freely, and how its delay grows after that."""

    free: int
    first_delay: timedelta = timedelta(seconds=15)
    max_delay: timedelta = timedelta(minutes=15)

    def delay(self, failures: int) -> timedelta | None:
        """Return the wait after `failures` failures in a row, or None if there is none."""
        if failures < self.free:
            return None
        return min(self.max_delay, self.first_delay * 2 ** min(failures - self.free, 20))


RULES = {
    "account": Rule(free=5),
    # An office behind one address has many people mistyping; a password spray from one
    # address tries many accounts. Ten in a row is plenty for the first, little for the other.
    "address": Rule(free=10),
    "device": Rule(free=5),
}
# Failures older than this are forgotten, and their rows deleted.
FORGET_AFTER = timedelta(hours=24)


@dataclass(frozen=True, order=True)
class Key:
    """One thing failures are counted against: ("account" | "address" | "device", index)."""

    kind: str
    index: str


def load(session: Session, keys: Iterable[Key], now: datetime) -> dict[Key, LoginThrottle]:
    """Return the locked throttle row of every key, creating the missing ones.

    Rows are created, then locked, in key order, so two attempts never wait on each other
    in a cycle on PostgreSQL; on SQLite the write transaction already serialises them.
    """
    keys = sorted(set(keys))
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert
    for key in keys:
        session.execute(insert(LoginThrottle).values(
            kind=key.kind, key_index=key.index, failures=0, last_attempt_at=now,
        ).on_conflict_do_nothing(index_elements=["kind", "key_index"]))
    rows = session.scalars(
        select(LoginThrottle)
        .where(or_(*(and_(LoginThrottle.kind == k.kind, LoginThrottle.key_index == k.index)
                     for k in keys)))
        .order_by(LoginThrottle.kind, LoginThrottle.key_index)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {Key(row.kind, row.key_index): row for row in rows}


def _live_failures(row: LoginThrottle, now: datetime) -> int:
    if row.last_failure_at is None or now - row.last_failure_at > FORGET_AFTER:
        return 0
    return row.failures


def blocked_until(rows: dict[Key, LoginThrottle], keys: Iterable[Key],
                  now: datetime) -> datetime | None:
    """Return until when any of `keys` must wait, or None if none is waiting."""
    waits = [rows[k].blocked_until for k in keys
             if _live_failures(rows[k], now) and rows[k].blocked_until is not None
             and rows[k].blocked_until > now]
    return max(waits) if waits else None


def settle(session: Session, rows: dict[Key, LoginThrottle], now: datetime, *,
           failed: Iterable[Key] = (), cleared: Iterable[Key] = ()) -> None:
    """Count a failure against `failed`, forget those of `cleared`, touch every row.

    Every row gets the same UPDATE whatever the outcome, and old rows are purged every time,
    so a refused, a wrong and an unknown-name attempt do the same work.
    """
    failed, cleared = set(failed), set(cleared)
    for key in sorted(rows):
        row = rows[key]
        failures = _live_failures(row, now)
        last_failure, until = row.last_failure_at, row.blocked_until
        if key in cleared:
            failures, last_failure, until = 0, None, None
        elif key in failed:
            failures += 1
            last_failure = now
            delay = RULES[key.kind].delay(failures)
            until = now + delay if delay is not None else None
        session.execute(update(LoginThrottle).where(LoginThrottle.id == row.id).values(
            failures=failures, last_failure_at=last_failure, blocked_until=until,
            last_attempt_at=now))
    session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_attempt_at < now - FORGET_AFTER))


def clear(session: Session, keys: Iterable[Key]) -> None:
    """Forget the failures of `keys` (an admin reset the account's password)."""
    keys = list(keys)
    if keys:
        session.execute(delete(LoginThrottle).where(or_(*(
            and_(LoginThrottle.kind == k.kind, LoginThrottle.key_index == k.index)
            for k in keys))))
