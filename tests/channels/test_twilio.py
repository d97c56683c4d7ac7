"""The Twilio messaging webhook: the channel contract on SMS and WhatsApp, signatures,
retries, opt-out words, the rate limit and awkward messages, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.models import Case, CaseEvent, Conversation, Evidence, InboundMessage, RateCount
from bot.turns import RateLimit
from channels.twilio.messaging import keyword, normalise_number
from flows.messages import Inbound
from tests.channels.contract import ChannelContract
from tests.channels.twilio_support import (
    PUBLIC_URL,
    WEBHOOK,
    TwilioResident,
    bodies,
    new_sid,
    payload,
    post,
    sign,
    twilio_env,
    twilio_services,
)
from tests.conftest import make_settings
from tests.helpers import VICTIM_REPORT, runner_of

SAM = "+447700900123"


@pytest.fixture
def settings(tmp_path):
    # The contract plays a whole report inside one minute; the limit is tested below.
    return make_settings(tmp_path, **twilio_env(TWILIO_RATE_LIMIT_PER_MINUTE="100"))


class TestSmsContract(ChannelContract):
    channel = "sms"

    def resident(self, app, services):
        return TwilioResident(app.test_client(), "sms")


class TestWhatsAppContract(ChannelContract):
    channel = "whatsapp"

    def resident(self, app, services):
        return TwilioResident(app.test_client(), "whatsapp", "+447700900124")


@pytest.fixture
def tw(tmp_path, db_url):
    # A scripted report sends ~31 messages inside a minute; the limit is tested below.
    with twilio_services(tmp_path, db_url, TWILIO_RATE_LIMIT_PER_MINUTE="100") as services:
        yield services


@pytest.fixture
def tw_limited(tmp_path, db_url):
    with twilio_services(tmp_path, db_url, TWILIO_RATE_LIMIT_PER_MINUTE="30") as services:
        yield services


@pytest.fixture
def tw_client(tw):
    return create_app(services=tw).test_client()


def _counts(services) -> dict[str, int]:
    with services.db.read() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Conversation, InboundMessage, Case, Evidence, RateCount)}


def _conversation(services, channel: str = "sms", number: str = SAM) -> Conversation:
    index = services.vault.index(channel, number)
    with services.db.read() as session:
        return session.scalars(select(Conversation).where(
            Conversation.channel == channel, Conversation.sender_index == index)).one()


def _asked(services, channel: str = "sms", number: str = SAM) -> str | None:
    conv = _conversation(services, channel, number)
    return services.vault.open_json(conv.state_enc)["asked"]


def _report(resident: TwilioResident) -> list[str]:
    resident.start()
    seen: list[str] = []
    for message, _ in VICTIM_REPORT:
        seen = resident.says(message if isinstance(message, str) else message[0])
    return seen


# ---- configuration -------------------------------------------------------------------

def test_route_is_404_and_logged_when_twilio_is_not_configured(tmp_path, caplog):
    from tests.conftest import make_settings as plain_settings

    with caplog.at_level(logging.INFO, logger="reportbot.twilio"):
        app = create_app(plain_settings(tmp_path))
    assert "SMS/WhatsApp is disabled" in caplog.text
    fields = payload("sms_inbound.txt")
    assert post(app.test_client(), fields).status_code == 404


def test_token_without_public_url_fails_at_start_up(tmp_path):
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match="REPORTBOT_PUBLIC_URL"):
        create_app(make_settings(tmp_path, TWILIO_AUTH_TOKEN="x" * 32))


def test_bad_template_setting_fails_at_start_up(tmp_path):
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match="TWILIO_WHATSAPP_TEMPLATES"):
        create_app(make_settings(tmp_path, **twilio_env(TWILIO_WHATSAPP_TEMPLATES="[1]")))


# ---- full reports, both channels, both databases --------------------------------------

@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_full_report_to_acknowledgement(tw, tw_client, channel):
    resident = TwilioResident(tw_client, channel)
    started = time.monotonic()
    greeting = resident.start()
    assert "999" in greeting[0] and "1. Yes, I am in danger" in greeting[-1]
    for message, _ in VICTIM_REPORT:
        replies = resident.says(message if isinstance(message, str) else message[0])
        assert replies and all(0 < len(b) <= 1600 for b in replies)
    # Well inside Twilio's 15 s, even for the turn that stores the case.
    assert (time.monotonic() - started) / (len(VICTIM_REPORT) + 1) < 2
    ack = "\n".join(replies)
    with tw.db.read() as session:
        [case] = session.scalars(select(Case)).all()
    assert case.channel == channel and case.reference in ack and case.hate_related
    conv = _conversation(tw, channel)
    assert conv.case_id == case.id and conv.sender_enc != SAM.encode()
    assert tw.vault.open_text(conv.sender_enc) == SAM


def test_numbers_labels_and_several_numbers_all_answer(tw, tw_client):
    resident = TwilioResident(tw_client)
    resident.start()
    resident.says("2")
    assert _asked(tw) == "reporter_role"
    resident.says("It happened to me")
    assert _asked(tw) == "anonymous"
    replies: list[str] = []
    for message, _ in VICTIM_REPORT[2:]:
        if _asked(tw) == "strands":
            break
        replies = resident.says(message if isinstance(message, str) else message[0])
    question = replies[-1]
    assert _asked(tw) == "strands"
    assert "like 1 3" in question and "\n1. " in question and "\n3. " in question
    resident.says("1 3")
    assert _asked(tw) == "repair_needed"


# ---- signatures ------------------------------------------------------------------------

@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl",
                                       sign(payload("sms_inbound.txt"), token="wrong-token"),
                                       sign(payload("sms_inbound.txt"),
                                            url="http://10.0.0.5:8000" + WEBHOOK)])
def test_forged_or_missing_signature_is_403_and_stores_nothing(tw, tw_client, signature):
    before = _counts(tw)
    response = post(tw_client, payload("sms_inbound.txt"), signature=signature)
    assert response.status_code == 403
    assert _counts(tw) == before


def test_a_field_added_after_signing_is_refused(tw, tw_client):
    fields = payload("sms_inbound.txt")
    signature = sign(fields)
    tampered = [(k, "+447700900999" if k == "From" else v) for k, v in fields]
    assert post(tw_client, tampered, signature=signature).status_code == 403
    assert post(tw_client, [*fields, ("Extra", "1")], signature=signature).status_code == 403
    assert _counts(tw)["conversations"] == 0


def test_the_public_url_is_what_is_signed_behind_a_proxy(tw, tw_client):
    # The app sees http://localhost/..., Twilio signed https://reportbot.example.org/...
    fields = payload("sms_inbound.txt")
    assert RequestSeenAs(tw_client).url.startswith("http://localhost")
    response = post(tw_client, fields, signature=sign(fields, url=PUBLIC_URL + WEBHOOK))
    assert "999" in bodies(response)[0]


class RequestSeenAs:
    def __init__(self, client) -> None:
        with client.application.test_request_context(WEBHOOK, method="POST"):
            from flask import request

            self.url = request.url


# ---- retries ---------------------------------------------------------------------------

def test_replayed_delivery_gets_the_same_twiml_and_changes_nothing(tw, tw_client):
    resident = TwilioResident(tw_client)
    resident.start()
    first = resident.send("no", message_id="SMretried0000000000000000000000001")
    counts = _counts(tw)
    again = resident.send("no", message_id="SMretried0000000000000000000000001")
    assert again.data == first.data
    assert _counts(tw) == counts
    assert _asked(tw) == "reporter_role"
    resident.says("1")
    assert _asked(tw) == "anonymous"


def test_first_message_creates_exactly_one_conversation_when_retried(tw, tw_client):
    resident = TwilioResident(tw_client)
    sid = new_sid()
    assert resident.says("Hello", sid) == resident.says("Hello", sid)
    assert _counts(tw)["conversations"] == 1 and _counts(tw)["inbound_messages"] == 1


# ---- opt-out words ---------------------------------------------------------------------

@pytest.mark.parametrize("word", ["STOP", "stop", " Unsubscribe ", "END", "QUIT", "CANCEL",
                                  "STOPALL", "Stop."])
def test_opt_out_word_is_recorded_and_not_an_answer(tw, tw_client, word):
    resident = TwilioResident(tw_client)
    resident.start()
    assert resident.says(word) == []  # Twilio itself confirms an SMS opt-out
    assert _conversation(tw).opted_out is True
    assert _asked(tw) == "immediate_danger"
    resident.says("no")
    assert _asked(tw) == "reporter_role"


def test_opt_out_on_an_open_case_is_on_the_timeline_once_and_start_clears_it(tw, tw_client):
    resident = TwilioResident(tw_client)
    _report(resident)
    sid = new_sid()
    resident.says("STOP", sid)
    resident.says("STOP", sid)  # Twilio retried the webhook
    assert _conversation(tw).opted_out is True
    resident.says("START")
    assert _conversation(tw).opted_out is False
    with tw.db.read() as session:
        kinds = session.scalars(select(CaseEvent.kind).order_by(CaseEvent.id)).all()
        details = session.scalars(select(CaseEvent.detail).where(
            CaseEvent.kind == "resident_opted_out")).all()
    assert kinds.count("resident_opted_out") == 1 and kinds[-1] == "resident_opted_in"
    assert details == [{"channel": "sms"}]


def test_yes_is_an_answer_unless_the_resident_opted_out(tw, tw_client):
    resident = TwilioResident(tw_client)
    resident.start()
    resident.says("no")
    resident.says("1")
    resident.says("YES")  # "Yes, I'll give my name" is not matched by a bare yes...
    assert _conversation(tw).opted_out is False
    assert _asked(tw) in ("anonymous", "reporter_name")


def test_whatsapp_opt_out_is_confirmed_in_the_chat(tw, tw_client):
    resident = TwilioResident(tw_client, "whatsapp")
    resident.start()
    [confirmation] = resident.says("STOP")
    assert "START" in confirmation and not {"STOP", "END", "QUIT"} & set(confirmation.split())
    assert _conversation(tw, "whatsapp").opted_out is True
    assert resident.says("start") == ["Thank you. We can message you here again."]


def test_keywords_are_whole_messages_only():
    assert keyword("STOP") == "out" and keyword(" stop! ") == "out"
    assert keyword("please stop shouting at me") is None
    assert keyword("Help") == "help" and keyword("yes") == "in" and keyword("") is None


# ---- rate limit ------------------------------------------------------------------------

def _not_near_a_minute_boundary() -> None:
    second = datetime.now(UTC).second
    if second >= 45:
        time.sleep(61 - second)


def test_a_burst_gets_one_notice_and_does_not_advance(tw_limited):
    _not_near_a_minute_boundary()
    tw = tw_limited
    tw_client = create_app(services=tw).test_client()
    resident = TwilioResident(tw_client)
    other = TwilioResident(tw_client, number="+447700900777")
    resident.start()
    for _ in range(29):
        assert resident.says("help")  # 30 messages in all, each answered
    [notice] = resident.says("no")
    assert "wait a minute" in notice
    assert resident.says("no") == [] and resident.says("no") == []
    assert _asked(tw) == "immediate_danger"  # the throttled answers were not taken
    assert "999" in other.start()[0]  # someone else is unaffected


def test_counts_are_per_minute_and_kept_on_the_conversation(tw):
    t0 = datetime(2026, 11, 23, 21, 0, 5, tzinfo=UTC)
    limit = RateLimit(2, "Please wait a minute before sending more messages.")

    def says(at):
        # A runner of its own each time, as another worker would be.
        return runner_of(tw).handle(Inbound(channel="sms", sender=SAM, text="help",
                                            message_id=new_sid(), received_at=at),
                                    rate_limit=limit)

    results = [says(t0 + timedelta(seconds=i)) for i in range(4)]
    assert [r.refused for r in results] == [False, False, True, True]
    assert bool(results[2].replies) and results[3].replies == ()  # one notice a window
    assert not says(t0 + timedelta(minutes=1)).refused
    assert not says(t0 + timedelta(hours=2)).refused
    with tw.db.read() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.rate_count == 1
        assert conversation.rate_window_start == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
        # The turn's count costs no row (and no statement) of its own.
        assert session.scalar(select(func.count()).select_from(RateCount)) == 0


# ---- awkward messages ------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   ", "🙂🙏🏽", "x" * 1600,
                                  "\u202bهذا ليس صحيحا\u202c", "שלום", "Zażółć gęślą jaźń",
                                  "<Message>&amp;</Message>", "\x00\x07bell"])
def test_awkward_bodies_get_a_kind_reply(tw, tw_client, text):
    resident = TwilioResident(tw_client)
    resident.start()
    replies = resident.says(text)
    assert replies and all(r.strip() and len(r) <= 1600 for r in replies)
    assert _asked(tw) == "immediate_danger"


def test_long_free_text_is_kept_whole(tw, tw_client):
    resident = TwilioResident(tw_client)
    resident.start()
    for answer in ("no", "1", "2"):
        resident.says(answer)
    story = ("They shouted at me again 😡 and wrote on the door. " * 40)[:1600]
    replies = resident.says(story)
    assert _asked(tw) == "incident_when" and replies


def test_media_only_message_is_kept_and_the_question_asked_again(tw, tw_client):
    resident = TwilioResident(tw_client)
    resident.start()
    fields = payload("mms_inbound.txt", MessageSid=new_sid("MM"))
    replies = bodies(post(tw_client, fields))
    assert "kept this file" in replies[0] and "danger" in replies[-1]
    with tw.db.read() as session:
        [evidence] = session.scalars(select(Evidence)).all()
    assert evidence.status == "pending" and evidence.channel == "sms"
    assert evidence.content_type == "image/jpeg" and evidence.data_enc is None
    assert "api.twilio.com" in tw.vault.open_text(evidence.source_enc)


def test_unknown_fields_and_whatsapp_buttons_are_fine(tw, tw_client):
    fields = payload("whatsapp_button.txt", Body="no", NewFieldTwilioAddedLater="1")
    TwilioResident(tw_client, "whatsapp", "+447700900124").start()
    replies = bodies(post(tw_client, fields))
    assert "1. It happened to me" in replies[-1]


@pytest.mark.parametrize("changes", [
    {"From": "messenger:1234567890"}, {"From": "Vodafone"}, {"MessageSid": ""},
    {"NumMedia": "lots"},
])
def test_unanswerable_messages_get_an_empty_reply_not_an_error(tw, tw_client, changes):
    changes = dict(changes)
    sid = changes.pop("MessageSid", new_sid())
    fields = payload("sms_inbound.txt", MessageSid=sid, SmsMessageSid=sid, **changes)
    response = post(tw_client, fields)
    assert response.status_code == 200
    if "NumMedia" in changes:
        assert bodies(response)
    else:
        assert bodies(response) == []


def test_numbers_are_normalised_to_e164():
    assert normalise_number("07700 900123") == SAM
    assert normalise_number("+44 (0)7700 900123") is not None
    assert normalise_number("+447700900123") == SAM
    assert normalise_number("not a number") is None


def test_logs_carry_no_numbers_or_words(tw, tw_client, caplog):
    with caplog.at_level(logging.DEBUG):
        resident = TwilioResident(tw_client)
        resident.start()
        resident.says("My neighbour Fictional Person shouted at me")
        post(tw_client, payload("sms_inbound.txt"), signature="forged")
    assert "900123" not in caplog.text and "Fictional Person" not in caplog.text
