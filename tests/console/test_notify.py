"""Staff notifications by email through the outbox, and messages to the reporter."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot import notify, worker
from bot.app import assemble
from bot.models import Case, Conversation, OutboxMessage, utcnow
from bot.outbox import LEASE
from tests.console.conftest import NARRATIVE, login, post_form, report
from tests.helpers import VICTIM_REPORT, Resident


def _outbox(services, channel: str = "staff_email") -> list[OutboxMessage]:
    with services.db.read() as session:
        return session.scalars(select(OutboxMessage).where(
            OutboxMessage.channel == channel).order_by(OutboxMessage.id)).all()


def _case(services, reference: str) -> Case:
    with services.db.read() as session:
        return session.scalar(select(Case).where(Case.reference == reference))


def test_new_hate_case_queues_one_alert_in_the_same_transaction(services):
    reference = report(services)
    [row] = _outbox(services)
    payload = services.vault.open_json(row.payload_enc)
    assert row.kind == "staff_alert" and row.dedupe_key.startswith("staff_alert:high:")
    assert payload["to"] == ["duty@larkspur-homes.example"]
    assert reference in payload["subject"] and f"/console/cases/{reference}" in payload["body"]
    for secret in (NARRATIVE, "Sam Fictional", "07700 900456", "Larkspur Court"):
        assert secret not in payload["body"] and secret not in payload["subject"]
    with services.db.write() as session:
        case = session.scalar(select(Case))
        assert not notify.case_created(session, services, case)  # deduplicated
    assert len(_outbox(services)) == 1


def test_crash_between_commit_and_send_loses_nothing_and_sends_once(services, smtp):
    reference = report(services)
    outbox = worker.build_outbox(assemble(services))
    assert "staff_email" in outbox.senders
    # A worker claims the message and dies before sending it.
    [claimed] = outbox.claim()
    assert outbox.claim() == []  # leased: nobody else takes it meanwhile
    assert smtp.received == []
    # After the lease runs out, another worker delivers it, exactly once.
    later = utcnow() + LEASE + timedelta(seconds=1)
    envelopes = outbox.claim(now=later)
    assert [e.id for e in envelopes] == [claimed.id]
    for envelope in envelopes:
        assert outbox.deliver(envelope).status == "sent"
    assert outbox.run_once() == 0
    assert outbox.claim(now=later + LEASE * 2) == []
    [(envelope, message)] = smtp.received
    assert message["Subject"] == f"High-priority case {reference}"
    assert message["Message-ID"] == f"<reportbot-outbox-{claimed.id}@larkspur-homes.example>"
    assert NARRATIVE not in message.get_payload()
    assert _outbox(services)[0].status == "sent"


def test_worker_loop_sends_alerts_and_escalations(services, smtp):
    reference = report(services)
    with services.db.write() as session:
        session.execute(update(Case).values(next_deadline=utcnow() - timedelta(hours=1)))
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        worker.run(assemble(services), interval=0.05, stop_after=1.0, escalate_every=0.2)
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    subjects = sorted(m["Subject"] for _e, m in smtp.received)
    assert subjects == [f"Case {reference}: first contact deadline overdue",
                        f"High-priority case {reference}"]


def test_escalation_is_once_per_case_and_stage(services):
    reference = report(services)
    case = _case(services, reference)
    assert notify.escalate(services, now=case.received_at) == 0
    approaching = case.first_contact_due - timedelta(minutes=30)
    assert notify.escalate(services, now=approaching) == 1
    assert notify.escalate(services, now=approaching) == 0
    overdue = case.first_contact_due + timedelta(minutes=1)
    assert notify.escalate(services, now=overdue) == 1
    assert notify.escalate(services, now=overdue + timedelta(hours=1)) == 0
    keys = [r.dedupe_key.rsplit(":", 2)[0] for r in _outbox(services)]
    assert f"deadline:{case.id}:first_contact:approaching" in keys
    assert f"deadline:{case.id}:first_contact:overdue" in keys


def test_escalation_follows_working_time_deadlines(services):
    # Reported on Sunday at 03:40: due at Monday's close (17:00), not Tuesday's.
    sunday = datetime(2026, 11, 29, 3, 40, tzinfo=UTC)
    resident = Resident(services)
    for message, _ in VICTIM_REPORT:
        resident.says(message, at=sunday)
    case = _case(services, _only_reference(services))
    assert case.first_contact_due == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    # Two working hours before it: approaching at 15:00, not at 14:59.
    assert notify.escalate(services, now=datetime(2026, 11, 30, 14, 59, tzinfo=UTC)) == 0
    assert notify.escalate(services, now=datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) == 1
    assert notify.escalate(services, now=datetime(2026, 11, 30, 17, 1, tzinfo=UTC)) == 1
    subjects = [services.vault.open_json(r.payload_enc)["subject"] for r in _outbox(services)
                if r.kind == "deadline_alert"]
    assert subjects == [f"Case {case.reference}: first contact deadline approaching",
                        f"Case {case.reference}: first contact deadline overdue"]


def _only_reference(services) -> str:
    with services.db.read() as session:
        return session.scalars(select(Case.reference)).one()


def test_refused_recipient_is_a_permanent_failure(services, smtp):
    report(services)
    smtp.refuse_recipients = True
    outbox = worker.build_outbox(assemble(services))
    assert outbox.run_once() == 1
    assert _outbox(services)[0].status == "failed"


def test_urgent_repair_request_has_the_location_only(client, services, staff):
    reference = report(services)
    login(client, "duty1")
    page = f"/console/cases/{reference}"
    post_form(client, f"{page}/repair", page, {"repair-confirm": "y"}, prefix="repair")
    [row] = [r for r in _outbox(services) if r.kind == "repair_request"]
    payload = services.vault.open_json(row.payload_enc)
    assert payload["to"] == ["repairs@larkspur-homes.example"]
    assert "Block B, Larkspur Court" in payload["body"] and reference in payload["body"]
    assert "Evidence must be preserved" in payload["body"]
    for secret in (NARRATIVE, "Sam Fictional", "07700 900456", "flat 9"):
        assert secret not in payload["body"]
    assert _case(services, reference).urgent_repair_at is not None


def test_message_to_the_reporter_respects_safe_contact_answers(client, services, staff):
    reference = report(services, channel="sms", sender="+447700900123")
    login(client, "duty1")
    page = f"/console/cases/{reference}"
    html = client.get(page).text
    assert "NOT safe to leave a message" in html and "phone call" in html
    nonce = "a" * 32
    post_form(client, f"{page}/message", page,
              {"msg-template": "tried_to_call", "msg-nonce": nonce}, prefix="msg")
    assert _outbox(services, "sms") == []
    assert "confirm that you have checked" in client.get(page).text
    for _ in range(2):  # a double click sends once
        post_form(client, f"{page}/message", page, {"msg-template": "tried_to_call",
                  "msg-nonce": nonce, "msg-confirm_safe": "y"}, prefix="msg")
    [row] = _outbox(services, "sms")
    payload = services.vault.open_json(row.payload_enc)
    assert row.kind == "resident_message" and payload["locale"] == "en"
    assert payload["text"].startswith("We tried to call you about your report " + reference)


def test_no_message_when_opted_out_or_on_web_chat(client, services, staff):
    sms = report(services, channel="sms", sender="+447700900124")
    chat = report(services, channel="webchat")
    with services.db.write() as session:
        session.execute(update(Conversation).where(Conversation.channel == "sms")
                        .values(opted_out=True))
    login(client, "duty1")
    assert "opted out" in client.get(f"/console/cases/{sms}").text
    assert "cannot carry a message later" in client.get(f"/console/cases/{chat}").text
    for reference in (sms, chat):
        page = f"/console/cases/{reference}"
        post_form(client, f"{page}/message", page, {"msg-template": "please_contact",
                  "msg-nonce": "b" * 32, "msg-confirm_safe": "y"}, prefix="msg")
    with services.db.read() as session:
        assert session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "resident_message")).all() == []
