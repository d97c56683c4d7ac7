"""Telegram over its webhook, with the real python-telegram-bot client and a fake Bot API."""

from __future__ import annotations

import copy
import hashlib
import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bot.app import assemble, create_app
from bot.models import (
    Case,
    Conversation,
    Evidence,
    InboundMessage,
    OutboxMessage,
    TelegramChat,
    utcnow,
)
from bot.outbox import enqueue
from bot.worker import build_outbox
from channels.telegram import lanes
from channels.telegram.parse import parse_update
from channels.telegram.render import render
from flows.messages import Choice, Outbound
from tests.channels.contract import ChannelContract
from tests.channels.fake_telegram import FakeBotApi
from tests.channels.telegram_support import (
    CHAT,
    HEADER,
    SECRET,
    TOKEN,
    TelegramResident,
    payload,
    telegram_env,
)
from tests.conftest import make_settings


@pytest.fixture
def fake():
    server = FakeBotApi(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path, fake):
    return make_settings(tmp_path, **telegram_env(fake))


def webhook_poster(client):
    def post(update: dict) -> None:
        response = client.post("/webhooks/telegram", json=update, headers={HEADER: SECRET})
        assert response.status_code == 200, response.get_data(as_text=True)
        lanes.settle()  # the replies leave after the webhook answered
    return post


@pytest.fixture
def resident(client, fake):
    return TelegramResident(webhook_poster(client), fake)


def count(services, model, *where) -> int:
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


class TestTelegramContract(ChannelContract):
    channel = "telegram"

    @pytest.fixture(autouse=True)
    def _fake(self, fake):
        self.fake = fake

    def resident(self, app, services):
        return TelegramResident(webhook_poster(app.test_client()), self.fake)

    def test_retried_delivery_changes_nothing(self, app, services):
        # Telegram redelivers the same update_id; replies are sent once, never again.
        resident = self.resident(app, services)
        resident.start()
        first = resident.says("no", message_id="retry-me-1")
        again = resident.says("no", message_id="retry-me-1")
        assert first and again == []
        key = f"update:{resident.named['retry-me-1']}"
        assert count(services, InboundMessage, InboundMessage.message_key == key) == 1
        after = resident.says("1")
        assert not any("did not understand" in t for t in after)


def _answer_until(resident, stop: str) -> None:
    """Answer each question by button (or fictional text) until `stop` is asked."""
    for _ in range(40):
        message_id, markup, text = resident.last_keyboard()
        buttons = [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
        step = buttons[0].split(":")[0]
        if step == stop:
            return
        if any(b.endswith(":!done") for b in buttons):
            resident.presses(buttons[0].split(":")[1])
            resident.presses("!done")
        elif buttons[-1].endswith(":skip"):
            resident.says("Block B, Larkspur Court")
        else:
            resident.presses(buttons[-1].split(":")[1] if step != "contact_method"
                             else "phone")
        if resident.last_keyboard()[0] == message_id:
            resident.says("07700 900456")  # a text step came next
    raise AssertionError(f"{stop} was never asked")


def test_report_with_buttons_reaches_acknowledgement_then_adds_details(resident, fake,
                                                                        services):
    greeting = resident.start()
    assert "999" in greeting[0]
    assert greeting[-1] == "Step 1 of about 8 · Your safety\n\nAre you in danger right now?"
    _, markup, _ = resident.last_keyboard()
    assert markup["inline_keyboard"][1][0]["callback_data"] == "immediate_danger:no"
    resident.presses("no")
    resident.presses("victim")
    resident.presses("named")
    resident.says("Sam Fictional")
    asked = resident.says("The man from flat 9 shouted at me to go back to my own country.")
    assert asked[-1].startswith("Step 4 of about 8 · When and where")
    answered = resident.presses("yesterday", step="incident_when")
    assert answered, "a choice gets the next question"
    _answer_until(resident, "review")
    seen = resident.presses("submit", step="review")
    with services.db.read() as session:
        [case] = session.scalars(select(Case)).all()
    assert case.channel == "telegram"
    assert any(case.reference in t for t in seen)
    _, markup, offer = resident.last_keyboard()
    assert "about 11 questions" in offer
    assert [b["callback_data"] for row in markup["inline_keyboard"] for b in row] == [
        "details_offer:add", "details_offer:later"]
    types = resident.presses("add")
    assert types[-1].startswith("Extra details: step 1 of about 7 · What happened")
    resident.presses("threats")
    resident.presses("name_calling")
    resident.presses("!done")
    with services.db.read() as session:
        assert session.scalars(select(Case)).one().incident_types == ["name_calling",
                                                                      "threats"]
    for _ in range(30):
        _, markup, _ = resident.last_keyboard()
        buttons = [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
        if any(b.endswith(":!done") for b in buttons):
            resident.presses(buttons[-2].split(":")[1])
            resident.presses("!done")
        elif buttons[-1].endswith(":skip"):
            resident.presses("skip")
        else:
            last = resident.presses(buttons[-1].split(":")[1])
            if "added these details" in last[-1]:
                break
    assert "added these details" in resident.texts()[-1]
    assert not fake.calls_of("answerCallbackQuery")[-1].get("text")
    assert len(fake.calls_of("answerCallbackQuery")) == len(
        [c for c in fake.calls if c[0] == "answerCallbackQuery"])


def test_redelivered_update_sends_nothing_twice(resident, fake, services):
    resident.start()
    update = resident.callback_update("immediate_danger:no")
    resident.post(update)
    sent = len(fake.calls_of("sendMessage"))
    resident.post(copy.deepcopy(update))
    assert len(fake.calls_of("sendMessage")) == sent
    assert count(services, OutboxMessage) == 2


@pytest.mark.parametrize("headers", [{}, {HEADER: "wrong-secret-0123456789"},
                                     {HEADER: SECRET + "x"}])
def test_forged_or_missing_secret_is_refused_and_nothing_stored(client, services, fake,
                                                                 headers):
    response = client.post("/webhooks/telegram", json=payload("private_text"),
                           headers=headers)
    assert response.status_code == 403
    assert count(services, Conversation) == 0 and count(services, InboundMessage) == 0
    assert fake.calls == []


def test_webhook_is_off_without_a_token(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="reportbot.telegram")
    from bot.services import build_services
    from tests.databases import migrated

    settings = make_settings(tmp_path)
    migrated(settings.database_url)
    services = build_services(settings)
    client = create_app(services=services).test_client()
    response = client.post("/webhooks/telegram", json=payload("private_text"),
                           headers={HEADER: SECRET})
    assert response.status_code == 404
    assert any("disabled" in r.getMessage() for r in caplog.records)
    services.db.dispose()


def _to_strands(resident) -> None:
    resident.start()
    for option in ("no", "victim", "anonymous"):
        resident.presses(option)
    resident.says("They wrote abuse on my door.")
    for option in ("today", "online", "yes"):
        resident.presses(option)


def test_multi_select_ticks_live_in_the_database(resident, fake, services, app):
    _to_strands(resident)
    message_id, _, _ = resident.last_keyboard()
    resident.presses("religion")
    resident.presses("disability")
    resident.presses("religion")  # untick
    edited = fake.calls_of("editMessageReplyMarkup")[-1]["reply_markup"]["inline_keyboard"]
    ticked = [b["callback_data"] for row in edited for b in row if b["text"].startswith("✓")]
    assert ticked == ["strands:disability"]
    with services.db.read() as session:
        [chat] = session.scalars(select(TelegramChat)).all()
    assert chat.keyboard_message_id == message_id
    assert services.vault.open_json(chat.selected_enc) == ["disability"]
    # Another worker (a new app on the same database) submits what this one ticked.
    other = TelegramResident(webhook_poster(create_app(services=services).test_client()),
                             fake)
    replies = other.presses("!done", step="strands", message_id=message_id)
    assert replies[-1].endswith("Is there any damage or graffiti that needs repairing or "
                                "removing?")
    with services.db.read() as session:
        conv = session.scalars(select(Conversation)).one()
    assert services.vault.open_json(conv.state_enc)["answers"]["strands"] == ["disability"]


def test_done_with_nothing_ticked_asks_to_choose(resident, fake):
    _to_strands(resident)
    assert resident.presses("!done") == []
    assert "at least one" in fake.calls_of("answerCallbackQuery")[-1]["text"]


def test_stale_button_is_answered_and_the_current_question_asked(resident, fake,
                                                                 services):
    resident.start()
    first_keyboard, _, _ = resident.last_keyboard()
    current = resident.presses("no")[-1]
    replies = resident.presses("yes", step="immediate_danger", message_id=first_keyboard)
    assert replies == [current]
    assert "already been answered" in fake.calls_of("answerCallbackQuery")[-1]["text"]
    with services.db.read() as session:
        conv = session.scalars(select(Conversation)).one()
    assert services.vault.open_json(conv.state_enc)["answers"] == {"immediate_danger": "no"}


def test_group_chat_gets_one_polite_reply_and_nothing_is_stored(client, fake, services):
    post = webhook_poster(client)
    post(payload("group_message"))
    again = payload("group_message")
    again["update_id"] += 1
    again["message"]["message_id"] += 1
    post(again)
    texts = fake.sent_texts(-1001700000789)
    assert len(texts) == 1 and "private chat" in texts[0]
    assert count(services, Conversation) == 0 and count(services, InboundMessage) == 0


def test_the_webhook_answers_before_the_replies_go(client, fake, services):
    """The turn and its replies are committed before the answer; sending comes after."""
    fake.delay = 1.0  # a slow Bot API
    update = TelegramResident(None, fake).message_update("/start")
    response = client.post("/webhooks/telegram", json=update, headers={HEADER: SECRET})
    assert response.status_code == 200
    with services.db.read() as session:
        row = session.scalars(select(OutboxMessage)).one()
        assert count(services, InboundMessage) == 1
    assert row.status == "pending" and row.sent_at is None  # queued, still on its way
    assert lanes.settle()
    with services.db.read() as session:
        row = session.scalars(select(OutboxMessage)).one()
    assert row.status == "sent" and len(fake.sent_texts(CHAT)) == 2


def test_one_chats_messages_go_in_the_order_they_were_queued(client, fake):
    """Updates arriving faster than a slow Bot API answers: each chat's replies keep their
    order (a lane per chat), and two chats' lanes run side by side."""
    fake.delay = 0.2
    first, second = (TelegramResident(None, fake, chat_id=c) for c in (700000301, 700000302))
    updates = [first.message_update("/start"), second.message_update("/start"),
               first.message_update("/help"), second.message_update("/help"),
               first.message_update("/help")]
    for update in updates:
        response = client.post("/webhooks/telegram", json=update, headers={HEADER: SECRET})
        assert response.status_code == 200
    assert lanes.settle()
    greeting, question = first.texts()[:2]
    assert "999" in greeting and question.endswith("Are you in danger right now?")
    for resident, helps in ((first, 2), (second, 1)):
        texts = resident.texts()
        assert len(texts) == 2 + 2 * helps
        assert texts[2::2] == [texts[2]] * helps and "999" in texts[2]  # help, question, …
        assert texts[3::2] == [question] * helps


def test_a_short_429_is_waited_out_for_that_chat_only(resident, fake, client):
    """Flood control on one chat holds that chat's lane; another chat's replies go meanwhile."""
    other = TelegramResident(webhook_poster(client), fake, chat_id=700000999)
    fake.fail_next("sendMessage", "429", retry_after=3)
    response = client.post("/webhooks/telegram", json=resident.message_update("/start"),
                           headers={HEADER: SECRET})
    assert response.status_code == 200  # answered at once; the replies are not sent yet
    deadline = time.monotonic() + 10
    while not fake.calls_of("sendMessage") and time.monotonic() < deadline:
        time.sleep(0.01)  # until the first chat has been told to wait
    assert len(other.start()) == 2  # while the first chat waits out its 429
    lanes.settle()
    assert len(resident.texts()) == 2
    order = [str(c["chat_id"]) for c in fake.calls_of("sendMessage") if "_message_id" in c]
    assert order == ["700000999"] * 2 + [str(resident.chat_id)] * 2


def test_a_long_429_goes_back_to_the_outbox_and_holds_the_chat_in_order(resident, fake,
                                                                          services):
    fake.fail_next("sendMessage", "429", retry_after=45)  # longer than a lane may hold a row
    before = utcnow()
    resident.start()
    assert resident.texts() == []
    with services.db.read() as session:
        row = session.scalars(select(OutboxMessage)).one()
    assert row.status == "pending" and "429" in row.last_error
    assert timedelta(seconds=44) <= row.next_attempt_at - before <= timedelta(seconds=47)
    # The resident answers meanwhile: that reply must not overtake the greeting.
    resident.says("no")
    assert resident.texts() == []
    with services.db.read() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [r.status for r in rows] == ["pending", "pending"]
    assert rows[1].next_attempt_at > rows[0].next_attempt_at
    assert build_outbox(assemble(services)).run_once() == 0  # not due yet
    with services.db.write() as session:
        session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    assert build_outbox(assemble(services)).run_once() == 2
    texts = resident.texts()
    assert "999" in texts[0] and "Which best describes you?" in texts[-1]
    # Once the chat's held rows have gone, its lane sends straight away again.
    with services.db.read() as session:
        blocked_until = max(r.next_attempt_at for r in session.scalars(select(OutboxMessage)))
    assert blocked_until <= utcnow() + timedelta(seconds=60)


def test_429_in_the_middle_resumes_after_the_last_part_sent(resident, fake, services):
    resident.start()
    resident.presses("no")
    resident.presses("victim")
    resident.presses("named")
    resident.says("Sam Fictional")
    resident.says("They shouted at me.")
    resident.presses("today")
    # Help is two messages (help, then the question); only the second is rate-limited.
    sent_before = len(resident.texts())
    fake.fail_next("sendMessage", "429", retry_after=1, after=1)
    resident.says("help")  # waited out in the lane: the first part is not sent again
    texts = resident.texts()
    assert len(texts) == sent_before + 2 and texts[-1] != texts[-2] and "999" in texts[-2]
    # Longer than a lane may hold it: the worker sends the rest, not the part that went.
    fake.fail_next("sendMessage", "429", retry_after=45, after=1)
    resident.says("help")
    assert len(resident.texts()) == sent_before + 3
    with services.db.write() as session:
        session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    assert build_outbox(assemble(services)).run_once() == 1
    texts = resident.texts()
    assert len(texts) == sent_before + 4 and texts[-1] != texts[-2] and "999" in texts[-2]


def test_blocked_resident_is_marked_unreachable(resident, fake, services):
    resident.start()
    fake.fail_next("sendMessage", "blocked")
    resident.presses("no")
    with services.db.read() as session:
        conv = session.scalars(select(Conversation)).one()
        row = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert conv.unreachable is True and row.status == "failed"
    with services.db.write() as session:
        enqueue(session, services.vault, kind="update", channel="telegram",
                payload={"text": "An officer has picked up your report."},
                dedupe_key="case-update-1", conversation_id=conv.id)
    calls = len(fake.calls_of("sendMessage"))
    assert build_outbox(assemble(services)).run_once() == 1
    assert len(fake.calls_of("sendMessage")) == calls  # not even tried
    resident.presses("victim", step="reporter_role")  # writing again: they unblocked us
    with services.db.read() as session:
        assert session.get(Conversation, conv.id).unreachable is False


def test_photo_is_kept_as_sealed_evidence(resident, fake, services, client, caplog):
    caplog.set_level(logging.DEBUG)
    image = b"\xff\xd8\xff\xe0fictional-jpeg-bytes" * 100
    fake.add_file("AgACAgQAAxkBAAMOZ-large", image, "photos/file_7.jpg")
    resident.start()
    resident.post(payload("photo"))
    assert fake.calls_of("getFile")[0]["file_id"] == "AgACAgQAAxkBAAMOZ-large"
    with services.db.read() as session:
        [evidence] = session.scalars(select(Evidence)).all()
    assert evidence.status == "stored" and evidence.content_type == "image/jpeg"
    assert evidence.sha256 == hashlib.sha256(image).hexdigest()
    assert services.vault.open(evidence.data_enc) == image
    assert "kept this file" in resident.texts()[-2]
    assert not any(TOKEN in r.getMessage() or TOKEN.split(":")[1] in r.getMessage()
                   for r in caplog.records)


def test_failed_download_never_blocks_the_reply_and_the_worker_retries(resident, fake,
                                                                       services):
    resident.start()
    resident.post(payload("document"))  # the fake has no such file yet
    assert "did not understand" in resident.texts()[-2] or resident.texts()[-1]
    with services.db.read() as session:
        [evidence] = session.scalars(select(Evidence)).all()
    assert evidence.status == "pending" and evidence.content_type == "application/pdf"
    fake.add_file("BQACAgQAAxkBAAMPZ-doc", b"%PDF-1.4 fictional", "documents/file_9.pdf")
    with services.db.write() as session:
        session.execute(update(Evidence).values(next_attempt_at=utcnow()))
    assert assemble(services).channels.get("telegram").fetch_media() == 1
    with services.db.read() as session:
        assert session.get(Evidence, evidence.id).status == "stored"


def test_oversized_file_is_refused(tmp_path, fake):
    from bot.services import build_services
    from tests.databases import migrated

    settings = make_settings(tmp_path, TELEGRAM_MAX_FILE_BYTES="100", **telegram_env(fake))
    migrated(settings.database_url)
    services = build_services(settings)
    fake.add_file("AgACAgQAAxkBAAMOZ-large", b"x" * 500)
    resident = TelegramResident(webhook_poster(create_app(services=services).test_client()),
                                fake)
    resident.start()
    resident.post(payload("photo"))
    with services.db.read() as session:
        assert session.scalars(select(Evidence)).one().status == "rejected"
    assert fake.calls_of("download") == []
    services.db.dispose()


def test_edited_message_counts_only_when_it_was_not_understood(resident, fake, services):
    resident.start()
    update = resident.message_update("maybe?")
    resident.post(update)  # not an answer to "are you in danger"
    edited = copy.deepcopy(update)
    edited["update_id"] += 1000
    edited["edited_message"] = edited.pop("message")
    edited["edited_message"]["text"] = "no"
    replies = resident._new(edited)
    assert resident.last_keyboard()[1]["inline_keyboard"][0][0]["callback_data"].startswith(
        "reporter_role:")
    again = copy.deepcopy(edited)
    again["update_id"] += 1
    again["edited_message"]["text"] = "yes"
    replies = resident._new(again)
    assert len(replies) == 1 and "already noted" in replies[0]


def test_edited_message_payload_gets_a_polite_note(resident, fake):
    resident.start()
    replies = resident._new(payload("edited_message"))
    assert len(replies) == 1 and "already noted" in replies[0]


def test_start_with_deep_link_payload_opens_the_conversation(client, fake, services):
    webhook_poster(client)(payload("start_deeplink"))
    texts = fake.sent_texts(CHAT)
    assert "confidential" in texts[0] and texts[-1].endswith("Are you in danger right now?")
    with services.db.read() as session:
        conv = session.scalars(select(Conversation)).one()
    assert conv.locale == "en"  # "pl" is not enabled by this landlord
    webhook_poster(client)(resident_start := payload("start_deeplink") | {"update_id": 5})
    assert resident_start and fake.sent_texts(CHAT)[-1].endswith("Are you in danger right now?")
    with services.db.read() as session:
        conv = session.scalars(select(Conversation)).one()
    assert services.vault.open_json(conv.state_enc)["asked"] == "immediate_danger"


def test_commands_map_to_the_flow(resident, fake):
    resident.start()
    role = resident.presses("no")[-1]
    help_text = resident.says("/help")
    assert "999" in help_text[0] and help_text[-1] == role
    menu = resident.says("/language@riverside_reports_test_bot")
    assert len(menu) == 1 and resident.last_keyboard()[1]["inline_keyboard"][0][0][
        "callback_data"] == "language:en"
    assert resident.presses("en")[-1] == role
    restarted = resident.says("/restart")
    assert "Starting again" in restarted[0]
    assert resident.says("/settings")[-1].endswith("Are you in danger right now?")


def test_parse_is_robust_to_unknown_fields_and_other_updates():
    update = payload("private_text")
    update["message"]["some_future_field"] = {"x": 1}
    update["business_connection"] = {"id": "b"}
    parsed = parse_update(update)
    assert parsed.kind == "message" and parsed.chat_id == str(CHAT)
    assert parsed.language_code == "en"
    assert parse_update({"update_id": 1, "poll": {}}).kind == "ignored"
    assert parse_update({"nothing": True}) is None
    assert parse_update(payload("start_deeplink")).payload == "poster-larkspur"


def test_long_text_is_split_at_4096_with_the_keyboard_last():
    message = Outbound(text=("word " * 2000).strip(), question="impact",
                       choices=(Choice("fear", "Afraid"),), multiple=True)
    from bot.i18n import Catalogs

    parts = render(message, Catalogs(["en"])("en"))
    assert len(parts) == 3 and all(len(p["text"]) <= 4096 for p in parts)
    assert "reply_markup" not in parts[0]
    rows = parts[-1]["reply_markup"]["inline_keyboard"]
    assert rows[-1][0]["callback_data"] == "impact:!done"


def test_every_button_fits_in_64_bytes(services):
    for step in services.flow.steps:
        for option in (*step.options, type("O", (), {"id": "!done"})):
            assert len(f"{step.id}:{option.id}".encode()) <= 64
