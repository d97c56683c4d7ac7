"""A burst of high-priority reports (issue 14): each staff target gets one alert at once and
one digest at the window's end, never one per case; every case is in the queue at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import notify
from bot.models import Case, OutboxMessage, RateCount
from bot.outbox import Outbox
from tests.console.conftest import report


def _rows(services) -> list[OutboxMessage]:
    with services.db.read() as session:
        return session.scalars(select(OutboxMessage).where(
            OutboxMessage.channel == "staff_email").order_by(OutboxMessage.id)).all()


def _burst(services, n: int) -> list[str]:
    return [report(services, sender=f"+4477009003{i:02d}", details=False) for i in range(n)]


def test_a_burst_gives_one_alert_now_and_one_digest_at_the_windows_end(any_console, smtp):
    services = any_console
    references = _burst(services, 5)
    first, digest = _rows(services)
    assert first.kind == "staff_alert" and references[0] in \
        services.vault.open_json(first.payload_enc)["subject"]
    assert digest.kind == "staff_alert_digest"
    payload = services.vault.open_json(digest.payload_enc)
    assert payload["subject"] == "4 new high-priority cases"
    assert payload["body"].startswith("4 new high-priority reports need a duty officer:\n")
    assert all(r in payload["body"] for r in references[1:])
    assert references[0] not in payload["body"]
    # Due when the window that the first alert opened ends (5 minutes by default).
    assert timedelta(minutes=4) < digest.next_attempt_at - first.created_at \
        <= timedelta(minutes=5)
    with services.db.read() as session:  # every case is in the queue at once
        assert session.scalars(select(Case.status)).all() == ["new"] * 5
    outbox = Outbox(services, {"staff_email": notify.email_sender(services)})
    assert outbox.run_once() == 1  # only the first alert is due now
    assert len(smtp.received) == 1


def test_retries_add_nothing_and_a_case_after_the_window_gets_its_own_alert(any_console):
    services = any_console
    first_two = _burst(services, 2)
    with services.db.write() as session:  # a retried notification, within the window
        for reference in first_two:
            case = session.scalar(select(Case).where(Case.reference == reference))
            assert not notify.case_created(session, services, case)
    digest = services.vault.open_json(_rows(services)[1].payload_enc)
    assert digest["body"].count(first_two[1]) == 1 and first_two[0] not in digest["body"]
    with services.db.write() as session:  # the window (and the digest's) have passed
        for row in session.scalars(select(RateCount)):
            row.window_start -= timedelta(minutes=11)
    later = report(services, sender="+447700900399", details=False)
    kinds = [r.kind for r in _rows(services)]
    assert kinds == ["staff_alert", "staff_alert_digest", "staff_alert"]
    assert later in services.vault.open_json(_rows(services)[2].payload_enc)["subject"]
