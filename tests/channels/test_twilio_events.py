"""What Twilio really posts besides a resident's words (issue 12): status callbacks (with or
without From), messages from our own numbers, WhatsApp user ids instead of numbers, a
WhatsApp location, and an MMS with text. None of the provider's own events reaches a
conversation; delivery failures are recorded on the outbox row they are about."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.models import CaseEvent, Conversation, Evidence, InboundMessage, OutboxMessage
from channels.twilio.messaging import parse
from tests.channels.test_twilio_outbound import SAM, report, send
from tests.channels.twilio_support import (
    SMS_FROM,
    TwilioResident,
    bodies,
    fake_twilio,
    payload,
    post,
    twilio_services,
)
from tests.helpers import runner_of

STATUS_CALLBACKS = ["status_sent.txt", "status_delivered.txt", "status_undelivered.txt",
                    "status_failed_no_from.txt", "whatsapp_status_read.txt"]
BSUID = "US.13491208655302741918"


@pytest.fixture
def fake():
    with fake_twilio() as running:
        yield running


@pytest.fixture
def tw(tmp_path, db_url, fake):
    with twilio_services(tmp_path, db_url, TWILIO_API_BASE_URL=fake.url,
                         TWILIO_RATE_LIMIT_PER_MINUTE="100") as services:
        yield services


@pytest.fixture
def client(tw):
    return create_app(services=tw).test_client()


def _count(services, model, *where) -> int:
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def _asked(services, channel: str, sender: str) -> str | None:
    view = runner_of(services).peek(channel, sender)
    return view.question if view else None


@pytest.mark.parametrize("name", [*STATUS_CALLBACKS, "sms_from_own_number.txt"])
def test_provider_events_get_an_empty_answer_and_leave_no_conversation(client, tw, name):
    response = post(client, payload(name))
    assert bodies(response) == []
    assert _count(tw, Conversation) == 0 and _count(tw, InboundMessage) == 0


def test_a_status_callback_never_opens_a_conversation_even_from_a_resident(client, tw):
    # A callback about a message to Sam carries Sam's number in To, ours in From; one
    # carrying only a resident-looking From is still not a message.
    fields = payload("status_sent.txt", From=SAM, To=SMS_FROM)
    assert bodies(post(client, fields)) == []
    assert _count(tw, Conversation) == 0


def test_a_delivery_failure_is_recorded_on_the_outbox_row_and_the_case(tw, fake, client):
    conversation, case = report(tw, contact_method="sms")
    row = send(tw, conversation, case)
    assert row.status == "sent" and row.provider_ref and row.provider_ref.startswith("SM")
    assert fake.created[-1]["StatusCallback"].endswith("/webhooks/twilio/messaging")
    sid = row.provider_ref
    handled = _count(tw, InboundMessage)
    post(client, payload("status_sent.txt", MessageSid=sid, SmsSid=sid))
    post(client, payload("status_undelivered.txt", MessageSid=sid, SmsSid=sid))
    post(client, payload("status_sent.txt", MessageSid=sid, SmsSid=sid))  # late, stale
    with tw.db.read() as session:
        stored = session.get(OutboxMessage, row.id)
        events = session.scalars(select(CaseEvent).where(
            CaseEvent.kind == "message_not_delivered")).all()
    assert stored.delivery_status == "undelivered" and "30003" in stored.last_error
    assert [e.detail["error_code"] for e in events] == ["30003"]
    assert _count(tw, InboundMessage) == handled  # no callback was taken as a message


def test_delivered_and_read_move_forward_only(tw, fake, client):
    conversation, case = report(tw, contact_method="sms")
    sid = send(tw, conversation, case).provider_ref
    post(client, payload("status_delivered.txt", MessageSid=sid, SmsSid=sid))
    post(client, payload("status_sent.txt", MessageSid=sid, SmsSid=sid))
    with tw.db.read() as session:
        stored = session.scalars(select(OutboxMessage).where(
            OutboxMessage.provider_ref == sid)).one()
    assert stored.delivery_status == "delivered" and stored.status == "sent"


def test_whatsapp_user_ids_are_opaque_addresses(client, tw):
    first = TwilioResident(client, "whatsapp", BSUID)
    other = TwilioResident(client, "whatsapp", "CA.13491208655302741918")
    long = TwilioResident(client, "whatsapp", "GB." + "a1B2c3D4" * 16)
    for resident in (first, other, long):
        resident.template = "whatsapp_bsuid.txt"
        assert resident.start(), resident.number
    with tw.db.read() as session:
        conversations = session.scalars(select(Conversation)).all()
        senders = {tw.vault.open_text(c.sender_enc) for c in conversations}
    assert senders == {BSUID, "CA.13491208655302741918", "GB." + "a1B2c3D4" * 16}
    inbound = parse(dict(payload("whatsapp_bsuid.txt")))
    assert inbound.sender == BSUID and inbound.channel == "whatsapp"


def test_a_whatsapp_user_id_is_never_texted_by_sms(tw, fake):
    conversation, case = report(tw, channel="whatsapp", contact_method="sms")
    with tw.db.write() as session:
        session.get(Conversation, conversation).sender_enc = tw.vault.seal(BSUID)
    row = send(tw, conversation, case, channel="whatsapp")
    assert row.status == "failed" and "needs officer" in row.last_error
    assert all(not c.get("To", "").startswith(("US.", "+US")) for c in fake.created)


def test_a_whatsapp_location_answers_the_location_step(client, tw):
    resident = TwilioResident(client, "whatsapp", "+447700900124")
    resident.start()
    for typed in ("no", "1", "2", "Someone keeps knocking on my door at night.", "1", "1"):
        resident.says(typed)
    assert _asked(tw, "whatsapp", "+447700900124") == "location"
    said = bodies(post(client, payload("whatsapp_location.txt")))
    assert not any("type your answer" in b for b in said)
    assert _asked(tw, "whatsapp", "+447700900124") == "perception"
    said = resident.says("2") + resident.says("2")  # not because of who; no repair
    assert "Larkspur Court, 1 Example Road, Sampletown M1 1AA (53.48076, -2.24263)" in \
        " ".join(said)
    with tw.db.read() as session:
        [kept] = session.scalars(select(Evidence)).all()
    assert kept.content_type == "application/geo+json"


def test_an_mms_with_text_keeps_the_file_and_asks_a_choice_again(client, tw):
    resident = TwilioResident(client, "sms")
    resident.start()
    said = bodies(post(client, payload("mms_with_text.txt")))
    assert "kept this file" in said[0] and "did not understand" not in " ".join(said)
    assert _asked(tw, "sms", SAM) == "immediate_danger"
    assert _count(tw, Evidence) == 1


def test_an_mms_with_text_answers_a_text_step(client, tw):
    resident = TwilioResident(client, "sms")
    resident.start()
    for typed in ("no", "1", "2"):
        resident.says(typed)
    assert _asked(tw, "sms", SAM) == "narrative"
    said = bodies(post(client, payload("mms_with_text.txt")))
    assert "kept this file" in said[0]
    assert _asked(tw, "sms", SAM) == "incident_when"
