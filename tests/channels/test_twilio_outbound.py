"""Outbox messages by SMS and WhatsApp through the real twilio REST client, pointed at a local
fake of Twilio's Messages API: success, opt-out (21610) is final, 5xx is retried, and the
WhatsApp 24-hour window (template, SMS fallback, or the officer)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.app import assemble
from bot.models import Case, CaseEvent, Conversation, OutboxMessage, utcnow
from bot.outbox import enqueue
from bot.worker import build_outbox
from tests.channels.twilio_support import (
    SMS_FROM,
    fake_twilio,
    twilio_services,
)
from tests.helpers import VICTIM_REPORT, Resident

SAM = "+447700900123"
TYPED = "07700 900456"  # a number the resident typed: never texted
TEMPLATE = "HX0123456789abcdef0123456789abcdef"


@pytest.fixture
def fake():
    with fake_twilio() as running:
        yield running


@pytest.fixture
def tw(tmp_path, db_url, fake):
    with twilio_services(tmp_path, db_url, TWILIO_API_BASE_URL=fake.url,
                         TWILIO_WHATSAPP_TEMPLATES=json.dumps({"en": TEMPLATE})) as services:
        yield services


def _answers() -> dict[str, str]:
    """Map each step of the victim transcript to the answer given to it."""
    answers, asked = {}, "immediate_danger"
    for message, following in VICTIM_REPORT:
        answers[asked] = message if isinstance(message, str) else message[0]
        asked = following
    return answers


def report(services, channel: str = "sms", **overrides) -> tuple[int, int]:
    """File a report on `channel` as SAM; return (conversation id, case id)."""
    answers = {**_answers(), "contact_details": TYPED, "details_offer": "not now",
               **overrides}
    resident = Resident(services, channel=channel, sender=SAM)
    for _ in range(60):
        if resident.done:
            break
        answer = answers.get(resident.asked or "", "submit")
        resident.says([answer] if answer in ("this_chat", "sms", "phone", "anonymous",
                                             "named") else answer)
    assert resident.done, resident.said
    with services.db.read() as session:
        case = session.scalars(select(Case)).one()
        return case.conversation_id, case.id


def send(services, conversation_id: int, case_id: int | None, channel: str = "sms",
         kind: str = "staff_message", **payload) -> OutboxMessage:
    """Queue one message and run the outbox once; return the stored row."""
    payload = payload or {"text": "An officer will call you tomorrow morning.", "locale": "en"}
    key = uuid.uuid4().hex
    with services.db.write() as session:
        enqueue(session, services.vault, kind=kind, channel=channel, payload=payload,
                dedupe_key=key, conversation_id=conversation_id, case_id=case_id)
    build_outbox(assemble(services)).run_once()
    with services.db.read() as session:
        return session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == key)).one()


def _events(services) -> list[tuple[str, dict]]:
    with services.db.read() as session:
        return [(e.kind, e.detail) for e in session.scalars(
            select(CaseEvent).order_by(CaseEvent.id))]


def _last_inbound(services, conversation_id: int, ago: timedelta) -> None:
    with services.db.write() as session:
        session.execute(update(Conversation).where(Conversation.id == conversation_id)
                        .values(last_inbound_at=utcnow() - ago))


def test_sms_goes_to_the_conversation_number_never_a_typed_one(tw, fake):
    conv, case = report(tw, contact_method="sms")
    row = send(tw, conv, case)
    assert row.status == "sent"
    [created] = fake.created
    assert created["To"] == SAM and created["From"] == SMS_FROM
    assert created["Body"] == "An officer will call you tomorrow morning."
    assert all("900456" not in c["To"] for c in fake.created)


def test_opted_out_error_21610_is_final_and_remembered(tw, fake):
    conv, case = report(tw, contact_method="this_chat")
    fake.reply_with(400, "error_21610.json")
    row = send(tw, conv, case)
    assert row.status == "failed" and "21610" in row.last_error
    with tw.db.read() as session:
        assert session.get(Conversation, conv).opted_out is True
    assert ("resident_opted_out", {"channel": "sms"}) in _events(tw)
    again = send(tw, conv, case)
    assert again.status == "failed" and again.last_error == "opted out"
    assert len(fake.created) == 1  # nothing further was even tried


def test_server_errors_are_retried_with_backoff(tw, fake):
    conv, case = report(tw, contact_method="this_chat")
    fake.reply_with(500, "error_20500.json")
    row = send(tw, conv, case)
    assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at > utcnow()
    with tw.db.write() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                        .values(next_attempt_at=utcnow()))
    build_outbox(assemble(tw)).run_once()
    with tw.db.read() as session:
        assert session.get(OutboxMessage, row.id).status == "sent"
    assert len(fake.created) == 2


@pytest.mark.parametrize("overrides", [{"contact_method": "phone"},
                                       {"anonymous": "anonymous"}])
def test_no_text_to_someone_who_asked_for_other_contact(tw, fake, overrides):
    conv, case = report(tw, **overrides)
    row = send(tw, conv, case)
    assert row.status == "failed" and row.last_error.startswith("needs officer")
    assert fake.created == []
    assert any(kind == "message_needs_officer" and detail["outbox_id"] == row.id
               for kind, detail in _events(tw))


def test_whatsapp_inside_the_window_is_free_form(tw, fake):
    conv, case = report(tw, "whatsapp", contact_method="this_chat")
    _last_inbound(tw, conv, timedelta(hours=2))
    assert send(tw, conv, case, "whatsapp").status == "sent"
    [created] = fake.created
    assert created["To"] == f"whatsapp:{SAM}" and created["From"] == f"whatsapp:{SMS_FROM}"
    assert "Body" in created and "ContentSid" not in created


def test_whatsapp_outside_the_window_uses_the_template(tw, fake):
    conv, case = report(tw, "whatsapp", contact_method="this_chat")
    _last_inbound(tw, conv, timedelta(hours=30))
    assert send(tw, conv, case, "whatsapp").status == "sent"
    [created] = fake.created
    assert created["ContentSid"] == TEMPLATE and "Body" not in created
    assert json.loads(created["ContentVariables"]) == {
        "1": "An officer will call you tomorrow morning."}


def test_whatsapp_refused_by_twilio_as_outside_window_falls_back_to_template(tw, fake):
    conv, case = report(tw, "whatsapp", contact_method="this_chat")
    _last_inbound(tw, conv, timedelta(hours=1))
    fake.reply_with(400, "error_63016.json")
    assert send(tw, conv, case, "whatsapp").status == "sent"
    assert [("Body" in c, c.get("ContentSid")) for c in fake.created] == [
        (True, None), (False, TEMPLATE)]


@pytest.fixture
def tw_no_template(tmp_path, db_url, fake):
    with twilio_services(tmp_path, db_url, TWILIO_API_BASE_URL=fake.url) as services:
        yield services


def test_whatsapp_outside_window_without_template_falls_back_to_agreed_sms(tw_no_template,
                                                                         fake):
    tw = tw_no_template
    conv, case = report(tw, "whatsapp", contact_method="sms")
    _last_inbound(tw, conv, timedelta(days=3))
    assert send(tw, conv, case, "whatsapp").status == "sent"
    [created] = fake.created
    assert created["To"] == SAM and created["From"] == SMS_FROM


def test_whatsapp_outside_window_without_sms_consent_is_left_to_the_officer(tw_no_template,
                                                                          fake):
    tw = tw_no_template
    conv, case = report(tw, "whatsapp", contact_method="this_chat")
    _last_inbound(tw, conv, timedelta(days=3))
    row = send(tw, conv, case, "whatsapp")
    assert row.status == "failed" and row.last_error.startswith("needs officer")
    assert fake.created == []
    assert any(k == "message_needs_officer" for k, _ in _events(tw))


def test_no_conversation_means_no_message(tw, fake):
    row = send(tw, None, None)
    assert row.status == "failed" and fake.created == []
