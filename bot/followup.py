"""Follow-up codes: six digits given with every acknowledgement, kept only as argon2 hashes.

Reference plus code reconnects a resident to their case from any channel. Wrong codes are
counted per reference typed, keyed by its blind index and never by a case, so a reference
that does not exist is counted, checked (against a dummy hash) and answered exactly like one
that does: the answer never says whether a reference exists. After `MAX_FAILURES` wrong
codes the reference is locked for `LOCK_FOR`, and the lock is audited. The count row is
locked for the transaction, so concurrent guesses are counted one after another and can
never exceed the limit.

Hashing a code costs argon2's full work (by default 64 MiB and three passes), and a report
is submitted inside its turn's transaction, which holds the conversation's lock (and on
SQLite the database's one writer lock). So each process keeps a few codes hashed ahead of
time by one background thread (`_Ready`): a submitted report takes one at once, and only
when a burst has used them all is a code hashed in the turn. The waiting codes live only in
that process's memory, like any code between its making and its hashing.
"""

from __future__ import annotations

import collections
import os
import secrets
import threading
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from bot import audit
from bot.models import Case, FollowUpAttempt, FollowUpCode
from bot.upsert import insert

CODE_DIGITS = 6
MAX_FAILURES = 5
LOCK_FOR = timedelta(hours=1)
INDEX_KIND = "follow_up_reference"


class Verdict(StrEnum):
    """What a reference and code were found to be."""

    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


def hasher(settings) -> PasswordHasher:
    """Return the argon2 hasher, with the cost parameters of REPORTBOT_ARGON2_* if set."""
    return _hasher(settings.argon2_time_cost, settings.argon2_memory_cost,
                   settings.argon2_parallelism)


@lru_cache(maxsize=4)
def _hasher(time_cost, memory_cost, parallelism) -> PasswordHasher:
    params = {k: v for k, v in (("time_cost", time_cost), ("memory_cost", memory_cost),
                                ("parallelism", parallelism)) if v is not None}
    return PasswordHasher(**params)


@lru_cache(maxsize=4)
def _dummy(h: PasswordHasher) -> str:
    """Return a hash no code matches, to check unknown references with the same work."""
    return h.hash(secrets.token_hex(16))


def new_code() -> str:
    """Return a fresh random six-digit code."""
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


class _Ready:
    """Codes hashed ahead of time by one background thread, for one process and hasher."""

    SIZE = 4

    def __init__(self, h: PasswordHasher) -> None:
        self.h = h
        self.pid = os.getpid()
        self.codes: collections.deque[tuple[str, str]] = collections.deque()
        self.wanted = threading.Event()
        self.wanted.set()
        threading.Thread(target=self._fill, name="follow-up-codes", daemon=True).start()

    def take(self) -> tuple[str, str]:
        """Return a new code and its hash: one made ahead if there is one, else made now."""
        self.wanted.set()
        try:
            return self.codes.popleft()
        except IndexError:
            code = new_code()
            return code, self.h.hash(code)

    def _fill(self) -> None:
        while True:
            self.wanted.wait()
            self.wanted.clear()  # before filling: a code taken meanwhile asks again
            while len(self.codes) < self.SIZE:
                code = new_code()
                self.codes.append((code, self.h.hash(code)))


_ready: dict[PasswordHasher, _Ready] = {}
_ready_lock = threading.Lock()


def _code_and_hash(h: PasswordHasher) -> tuple[str, str]:
    with _ready_lock:
        ready = _ready.get(h)
        if ready is None or ready.pid != os.getpid():  # a forked worker makes its own
            ready = _ready[h] = _Ready(h)
    return ready.take()


def issue(session: Session, services, case: Case) -> str:
    """Give the case a new follow-up code; return it (it is stored only as a hash)."""
    code, digest = _code_and_hash(hasher(services.settings))
    session.merge(FollowUpCode(case_id=case.id, code_hash=digest))
    return code


def _matches(h: PasswordHasher, stored: str, code: str) -> bool:
    try:
        return h.verify(stored, code)
    except (VerificationError, InvalidHashError):
        return False


def _attempts(session: Session, index: str, now: datetime) -> FollowUpAttempt:
    """Return the reference's wrong-code count, created if new, locked for us."""
    session.execute(insert(session, FollowUpAttempt)
                    .values(reference_index=index, failures=0, last_attempt_at=now)
                    .on_conflict_do_nothing(index_elements=["reference_index"]))
    return session.scalars(select(FollowUpAttempt).where(
        FollowUpAttempt.reference_index == index).with_for_update()
        .execution_options(populate_existing=True)).one()


def verify(session: Session, services, reference: str, code: str, now: datetime,
           channel: str) -> tuple[Verdict, Case | None]:
    """Check a (normalised) reference and a code; return the verdict and, if OK, the case."""
    attempts = _attempts(session, services.vault.index(INDEX_KIND, reference), now)
    attempts.last_attempt_at = now
    if attempts.locked_until is not None and attempts.locked_until > now:
        return Verdict.LOCKED, None
    case = session.scalar(select(Case).where(Case.reference == reference))
    stored = session.get(FollowUpCode, case.id) if case is not None else None
    h = hasher(services.settings)
    matched = _matches(h, stored.code_hash if stored else _dummy(h), code)
    if matched and stored is not None and case.erased_at is None:
        attempts.failures = 0
        attempts.locked_until = None
        audit.record(session, "resident", "follow_up_reconnected", case, channel=channel)
        return Verdict.OK, case
    attempts.failures += 1
    if attempts.failures < MAX_FAILURES:
        return Verdict.WRONG, None
    attempts.failures = 0
    attempts.locked_until = now + LOCK_FOR
    audit.record(session, "resident", "follow_up_locked", case, channel=channel,
                 minutes=int(LOCK_FOR.total_seconds() // 60))
    return Verdict.LOCKED, None


def forget_attempts(session: Session, now: datetime) -> int:
    """Delete wrong-code counts idle for a day whose lock, if any, has run out."""
    result = session.execute(delete(FollowUpAttempt).where(
        FollowUpAttempt.last_attempt_at < now - timedelta(days=1),
        or_(FollowUpAttempt.locked_until.is_(None), FollowUpAttempt.locked_until < now)))
    return result.rowcount or 0
