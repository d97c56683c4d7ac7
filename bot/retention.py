"""Retention: erase personal data the landlord's policy no longer allows us to keep.

Run daily by `reportbot worker` (and on demand by `reportbot retention`):

- A closed case's personal data is erased `[retention] closed_cases_years` after it was
  closed (6 by default; bot/erasure.py says what goes and what stays). The facts every
  monitoring figure is counted from stay, so the figures do not change.
- Files sent during a conversation that never became a report are erased once the
  conversation has been idle longer than the expiry period, like its answers
  (`Conversations.purge_expired`), so an old photo is never attached to a later report.
- Counts of wrong follow-up codes are forgotten a day after the last attempt, once any
  lock has run out (bot/followup.py).

Each case is erased in its own small transaction and recorded in the audit log; cases being
worked on at that moment are skipped and taken the next day.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from bot import audit, erasure, followup
from bot.models import Case, Conversation, Evidence, utcnow
from bot.services import Services

log = logging.getLogger("reportbot.retention")

ACTOR = "retention"
BATCH = 10


@dataclass(frozen=True)
class RetentionResult:
    """What one run erased."""

    cases: int
    orphan_files: int
    closed_before: datetime


def years_before(instant: datetime, years: int) -> datetime:
    """Return the same calendar instant `years` earlier (29 February becomes the 28th)."""
    year = instant.year - years
    day = min(instant.day, calendar.monthrange(year, instant.month)[1])
    return instant.replace(year=year, day=day)


def due(services: Services, now: datetime | None = None) -> list[int]:
    """Return the ids of closed cases whose personal data is due for erasure."""
    cutoff = years_before(now or utcnow(), services.org.retention_years)
    with services.db.read() as session:
        return list(session.scalars(select(Case.id).where(
            Case.status == "closed", Case.closed_at < cutoff, Case.erased_at.is_(None))
            .order_by(Case.id)))


def run(services: Services, now: datetime | None = None) -> RetentionResult:
    """Erase what the retention policy says is due; return what was erased."""
    now = now or utcnow()
    years = services.org.retention_years
    cutoff = years_before(now, years)
    reason = f"retention: {years} years after closure"
    ids = due(services, now)
    erased = 0
    for start in range(0, len(ids), BATCH):
        with services.db.write() as session:
            cases = session.scalars(
                select(Case).where(Case.id.in_(ids[start:start + BATCH]),
                                   Case.erased_at.is_(None))
                .order_by(Case.id).with_for_update(skip_locked=True)).all()
            for case in cases:
                # Checked again under the lock: a case reopened meanwhile is not erased.
                if case.status == "closed" and case.closed_at is not None \
                        and case.closed_at < cutoff:
                    erased += erasure.erase_case(session, services, case, ACTOR, reason, now)
    orphans = _orphan_files(services, now)
    with services.db.write() as session:
        followup.forget_attempts(session, now)
    if erased or orphans:
        log.info("retention: erased %d case(s) closed before %s and %d unsubmitted file(s)",
                 erased, cutoff.date().isoformat(), orphans)
    return RetentionResult(erased, orphans, cutoff)


def _orphan_files(services: Services, now: datetime) -> int:
    """Erase files from conversations abandoned longer than the expiry period."""
    cutoff = now - timedelta(days=services.settings.conversation_expiry_days)
    with services.db.write() as session:
        idle = select(Conversation.id).where(Conversation.updated_at < cutoff)
        result = session.execute(
            update(Evidence).where(Evidence.case_id.is_(None), Evidence.received_at < cutoff,
                                   Evidence.status != "erased",
                                   Evidence.conversation_id.in_(idle))
            .values(data_enc=None, source_enc=None, sha256=None, status="erased",
                    next_attempt_at=None))
        count = result.rowcount or 0
        if count:
            audit.record(session, ACTOR, "unsubmitted_files_erased", files=count)
    return count
