"""Follow-up codes under concurrent guessing, on SQLite and PostgreSQL: the count row is
locked, so ten guesses at once get exactly four "wrong" answers before the lock."""

from __future__ import annotations

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
