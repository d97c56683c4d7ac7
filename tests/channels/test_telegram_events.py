"""Telegram as residents really use it (issue 12): a shared location or venue answers the
location step, a photo with a caption answers a text step, and blocking or unblocking the
bot (`my_chat_member`) is recorded without starting a conversation."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from bot.models import Case, CaseEvent, Conversation, Evidence, InboundMessage
from channels.telegram.parse import MEMBER, parse_update
from flows.places import GEOJSON_TYPE, from_geojson
from tests.channels.fake_telegram import FakeBotApi
from tests.channels.telegram_support import TOKEN, TelegramResident, payload, telegram_env
from tests.channels.test_telegram import webhook_poster
from tests.conftest import make_settings
from tests.helpers import runner_of

PLACE = {"latitude": 53.480759, "longitude": -2.242631}


@pytest.fixture
def fake():
    server = FakeBotApi(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path, fake):
    return make_settings(tmp_path, **telegram_env(fake))


@pytest.fixture
def resident(client, fake):
    return TelegramResident(webhook_poster(client), fake)


def _asked(services) -> str | None:
    view = runner_of(services).peek("telegram", "700000123")
    return view.question if view else None


def _to_location(resident, services) -> None:
    """An anonymous victim's report, by buttons, up to "What is the address …?"."""
    resident.start()
    resident.presses("no")
    resident.presses("victim")
    resident.presses("anonymous")
    resident.says("Someone keeps knocking on my door late at night and running off.")
    resident.presses("today")
    resident.presses("home")
    assert _asked(services) == "location"


def _submit(resident, services) -> Case:
    resident.presses("no", step="perception")
    resident.presses("no", step="repair_needed")
    resident.presses("submit", step="review")
    with services.db.read() as session:
        return session.scalars(select(Case)).one()


def _count(services, model) -> int:
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("name", ["location", "venue"])
def test_a_shared_location_or_venue_answers_the_location_step(resident, services, name):
    _to_location(resident, services)
    before = len(resident.texts())
    resident.post(payload(name))
    said = resident.texts()[before:]
    assert _asked(services) == "perception"
    assert not any("type your answer" in t for t in said)
    case = _submit(resident, services)
    place = services.store.details(case)["location"]
    assert (place["latitude"], place["longitude"]) == (PLACE["latitude"], PLACE["longitude"])
    if name == "venue":
        assert place["label"] == "Larkspur Court Community Hall"
        assert place["address"] == "1 Example Road, Sampletown M1 1AA"
    with services.db.read() as session:
        [kept] = session.scalars(select(Evidence)).all()
    assert kept.content_type == GEOJSON_TYPE and kept.case_id == case.id
    assert from_geojson(services.vault.open(kept.data_enc)) == place


def test_a_location_at_another_step_is_kept_and_the_question_asked_again(resident,
                                                                        services):
    resident.start()
    resident.presses("no")
    before = len(resident.texts())
    resident.post(payload("location"))
    said = resident.texts()[before:]
    assert "kept this location" in said[0]
    assert _asked(services) == "reporter_role"  # asked again, nothing answered
    with services.db.read() as session:
        [kept] = session.scalars(select(Evidence)).all()
        conversation = session.scalars(select(Conversation)).one()
    assert kept.conversation_id == conversation.id and kept.case_id is None
    assert from_geojson(services.vault.open(kept.data_enc))["longitude"] == -2.242631


def test_a_photo_with_a_caption_answers_a_text_step_and_the_file_is_kept(resident, fake,
                                                                         services):
    fake.add_file("AgACAgQAAxkBAAMSZ-large", b"\xff\xd8\xff\xe0fictional" * 50)
    resident.start()
    for option in ("no", "victim", "anonymous"):
        resident.presses(option)
    assert _asked(services) == "narrative"
    before = len(resident.texts())
    resident.post(payload("photo_caption"))
    said = resident.texts()[before:]
    assert "kept this file" in said[0]
    assert _asked(services) == "incident_when"  # the caption was the answer
    assert _count(services, Evidence) == 1


def test_a_photo_with_a_caption_at_a_choice_step_asks_again_kindly(resident, fake,
                                                                   services):
    fake.add_file("AgACAgQAAxkBAAMSZ-large", b"\xff\xd8\xff\xe0fictional" * 50)
    resident.start()
    before = len(resident.texts())
    resident.post(payload("photo_caption"))
    said = resident.texts()[before:]
    assert "kept this file" in said[0] and "did not understand" not in " ".join(said)
    assert _asked(services) == "immediate_danger"


def test_blocking_the_bot_marks_the_resident_unreachable_on_the_case(resident, fake,
                                                                     services, client):
    _to_location(resident, services)
    resident.says("Block B, Larkspur Court")
    case = _submit(resident, services)
    sent = len(fake.calls_of("sendMessage"))
    post = webhook_poster(client)
    post(payload("my_chat_member_kicked"))
    post(payload("my_chat_member_kicked"))  # a redelivery records nothing twice
    with services.db.read() as session:
        conversation = session.scalars(select(Conversation)).one()
        events = session.scalars(select(CaseEvent.kind).where(
            CaseEvent.case_id == case.id)).all()
    assert conversation.unreachable is True
    assert events.count("resident_unreachable") == 1
    assert len(fake.calls_of("sendMessage")) == sent  # nothing is sent to a blocked chat
    post(payload("my_chat_member_member"))
    with services.db.read() as session:
        assert session.get(Conversation, conversation.id).unreachable is False
        events = session.scalars(select(CaseEvent.kind).where(
            CaseEvent.case_id == case.id)).all()
    assert "resident_reachable" in events


def test_membership_updates_from_strangers_leave_nothing_behind(client, services, fake):
    post = webhook_poster(client)
    for name in ("my_chat_member_kicked", "my_chat_member_member"):
        update = copy.deepcopy(payload(name))
        update["my_chat_member"]["chat"]["id"] = 700000999
        post(update)
    assert _count(services, Conversation) == 0 and _count(services, InboundMessage) == 0
    assert fake.calls_of("sendMessage") == []


def test_membership_updates_parse_only_in_private_chats():
    kicked = parse_update(payload("my_chat_member_kicked"))
    assert kicked.kind == MEMBER and kicked.status == "kicked" and kicked.chat_id == "700000123"
    group = copy.deepcopy(payload("my_chat_member_kicked"))
    group["my_chat_member"]["chat"] = {"id": -1001700000789, "type": "supergroup",
                                       "title": "Larkspur Court residents"}
    assert parse_update(group).kind != MEMBER
    venue = parse_update(payload("venue"))
    assert venue.place.label == "Larkspur Court Community Hall"
    broken = copy.deepcopy(payload("location"))
    broken["message"]["location"] = {"latitude": 123.0, "longitude": "east"}
    assert parse_update(broken).place is None
