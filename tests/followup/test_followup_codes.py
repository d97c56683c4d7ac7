"""Follow-up codes under concurrent guessing, on SQLite and PostgreSQL: the count row is
locked, so ten guesses at once get exactly four "wrong" answers before the lock."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select

from bot import followup
from bot.models import AuditLog, Case, FollowUpAttempt, utcnow
from tests.followup.test_followup_transcripts import reported


def test_concurrent_wrong_guesses_never_exceed_the_limit(any_services):
    services = any_services
    _resident, reference, code = reported(services, channel="webchat")
    wrong = "000000" if code != "000000" else "111111"
    now = utcnow()

    def guess(_n: int) -> str:
        with services.db.write() as session:
            verdict, _case = followup.verify(session, services, reference, wrong, now,
                                             "webchat")
            return verdict.value

    with ThreadPoolExecutor(max_workers=10) as pool:
        verdicts = list(pool.map(guess, range(10)))
    assert verdicts.count("wrong") == followup.MAX_FAILURES - 1
    assert verdicts.count("locked") == 10 - (followup.MAX_FAILURES - 1)
    with services.db.read() as session:
        locks = session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "follow_up_locked"))
        case = session.scalars(select(Case)).one()
    assert locks == 1
    # The right code waits for the hour too; after it, it works again.
    with services.db.write() as session:
        assert followup.verify(session, services, reference, code, now, "webchat")[0] \
            == followup.Verdict.LOCKED
    later = now + followup.LOCK_FOR + timedelta(seconds=1)
    with services.db.write() as session:
        verdict, found = followup.verify(session, services, reference, code, later, "sms")
    assert verdict == followup.Verdict.OK and found.id == case.id
    with services.db.write() as session:
        assert followup.forget_attempts(session, later + timedelta(days=2)) == 1
        assert session.scalars(select(FollowUpAttempt)).all() == []


def test_codes_hashed_ahead_are_each_used_once_and_a_burst_hashes_in_the_turn():
    """Submitting takes a code hashed beforehand (off the turn's lock); more submits at once
    than were made ahead still each get a fresh code, hashed then."""
    h = followup._hasher(1, 8, 1)  # cheap argon2: the rule, not the cost, is tested here
    first = followup._code_and_hash(h)
    ready = followup._ready[h]
    for _ in range(1000):  # until the background thread has made its few
        if len(ready.codes) == ready.SIZE:
            break
        time.sleep(0.01)
    made_ahead = list(ready.codes)
    burst = [followup._code_and_hash(h) for _ in range(ready.SIZE + 3)]
    assert burst[:ready.SIZE] == made_ahead  # taken in the order they were made
    for code, digest in [first, *burst]:
        assert digest.startswith("$argon2") and code not in digest and h.verify(digest, code)
    assert len({digest for _code, digest in [first, *burst]}) == ready.SIZE + 4
