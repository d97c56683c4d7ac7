"""Issue 14's channel findings replayed: a client_id never returns another conversation's
replies, and one database rate limiter holds the web chat and Telegram to their limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import ratelimit
from bot.app import create_app
from bot.db import Database
from bot.models import InboundMessage, RateCount
from bot.services import build_services
from bot.settings import DEMO_ORG_FILE
from channels.webchat.channel import SLOW_DOWN, TOO_MANY_SESSIONS
from tests.channels.fake_telegram import FakeBotApi
from tests.channels.telegram_support import HEADER, SECRET, TOKEN, TelegramResident, telegram_env
from tests.conftest import make_settings


def _app(tmp_path, db_url, **env):
    services = build_services(make_settings(tmp_path, db_url, **env), db=Database(db_url))
    return services, create_app(services=services)


@pytest.fixture
def built(request, db_url, tmp_path):
    env = getattr(request, "param", {})
    services, app = _app(tmp_path, db_url, **env)
    yield services, app
    services.db.dispose()


def _open(client, address="192.0.2.10", **kwargs):
    return client.post("/api/chat/sessions", environ_base={"REMOTE_ADDR": address}, **kwargs)


# ---- finding: a client_id replays another resident's replies ---------------------------

def test_a_client_id_never_returns_another_conversations_replies(built):
    services, app = built
    victim, attacker = app.test_client(), app.test_client()
    token = _open(victim).json["session"]
    url = f"/api/chat/sessions/{token}/messages"
    for body in ({"choice": "no"}, {"choice": "victim"}, {"choice": "named"}):
        assert victim.post(url, json=body).status_code == 200
    # The victim's name, sent with the page's id for that message.
    told = victim.post(url, json={"text": "Alex Fictional-Victim", "client_id": "victim-7"})
    assert told.status_code == 200

    own = _open(attacker, "198.51.100.7").json["session"]
    stolen = attacker.post(f"/api/chat/sessions/{own}/messages",
                           json={"text": "x", "client_id": "victim-7"})
    assert stolen.status_code == 200
    assert stolen.json != told.json
    assert stolen.json["messages"][-1]["question"] == "immediate_danger"  # its own turn
    assert "Fictional-Victim" not in str(stolen.json)
    # The victim's retry is still answered from its own record, once.
    again = victim.post(url, json={"text": "Alex Fictional-Victim", "client_id": "victim-7"})
    assert again.json == told.json
    with services.db.read() as session:
        keys = session.scalars(select(InboundMessage.conversation_id).where(
            InboundMessage.message_key == "victim-7")).all()
    assert len(keys) == 2 and len(set(keys)) == 2  # one per conversation


# ---- web chat limits -------------------------------------------------------------------

@pytest.mark.parametrize("built", [{"REPORTBOT_WEBCHAT_SESSIONS_PER_HOUR": "3"}],
                         indirect=True)
def test_sessions_per_client_address_per_hour(built):
    services, app = built
    client = app.test_client()
    assert [_open(client).status_code for _ in range(3)] == [201, 201, 201]
    refused = _open(client, headers={"X-Forwarded-For": "203.0.113.99"})
    assert refused.status_code == 429  # a claimed address is not believed without a proxy
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert refused.json["error"] == "too_many_requests"
    assert refused.json["message"] == TOO_MANY_SESSIONS
    assert _open(client, "192.0.2.11").status_code == 201  # another address is unaffected
    with services.db.read() as session:
        stored = session.scalars(select(RateCount.key_index)).all()
    assert "192.0.2.10" not in stored  # kept as a blind index only


@pytest.mark.parametrize("built", [{"REPORTBOT_WEBCHAT_SESSIONS_PER_HOUR": "1",
                                    "REPORTBOT_TRUSTED_PROXIES": "1"}], indirect=True)
def test_proxy_addresses_are_believed_only_when_configured(built):
    _, app = built
    client = app.test_client()

    def via_proxy(address):
        return _open(client, "10.0.0.1", headers={"X-Forwarded-For": address})

    assert via_proxy("203.0.113.1").status_code == 201
    assert via_proxy("203.0.113.2").status_code == 201
    assert via_proxy("203.0.113.1").status_code == 429


@pytest.mark.parametrize("built", [{"REPORTBOT_WEBCHAT_MESSAGES_PER_MINUTE": "3",
                                    "REPORTBOT_ORG_FILE": str(DEMO_ORG_FILE)}],
                         indirect=True)
def test_messages_per_session_per_minute_in_the_sessions_language(built):
    services, app = built
    client = app.test_client()
    opened = _open(client, json={"language": "pl"}).json
    assert opened["language"] == "pl"
    url = f"/api/chat/sessions/{opened['session']}/messages"
    answered = [client.post(url, json={"text": "?", "client_id": f"m{i}"}) for i in range(3)]
    assert [r.status_code for r in answered] == [200, 200, 200]
    refused = client.post(url, json={"choice": "no", "client_id": "m3"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 60
    polish = services.catalogs("pl").gettext(SLOW_DOWN)
    assert polish != SLOW_DOWN and refused.json["message"] == polish
    # A retry of an accepted message is still answered (it is not counted again) ...
    assert client.post(url, json={"text": "?", "client_id": "m2"}).json == answered[2].json
    # ... and the refused one was not taken (it may be sent again later).
    with services.db.read() as session:
        keys = set(session.scalars(select(InboundMessage.message_key)))
    assert keys == {"m0", "m1", "m2"}


def test_counts_in_windows_of_any_length_on_both_engines(any_services):
    t0 = datetime(2026, 11, 23, 21, 0, 5, tzinfo=UTC)

    def count(at, key="k1"):
        with any_services.db.write() as session:
            return ratelimit.count(session, "webchat_address", key, 2, ratelimit.HOUR, at)

    verdicts = [count(t0 + timedelta(minutes=m)) for m in (0, 20, 40, 50)]
    assert [v.allowed for v in verdicts] == [True, True, False, False]
    assert [v.notify for v in verdicts] == [False, False, True, False]
    assert verdicts[2].retry_after == 20 * 60 - 5
    assert count(t0, key="k2").allowed  # another key has its own count
    assert count(t0 + timedelta(hours=1)).allowed  # a new window
    assert count(t0 + timedelta(hours=3)).allowed  # old windows are cleared
    with any_services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(RateCount)) == 1


# ---- Telegram --------------------------------------------------------------------------

@pytest.fixture
def fake():
    server = FakeBotApi(TOKEN).start()
    yield server
    server.stop()


def test_telegram_chat_limit_gives_one_kind_notice(db_url, tmp_path, fake):
    services, app = _app(tmp_path, db_url, TELEGRAM_RATE_LIMIT_PER_MINUTE="3",
                         **telegram_env(fake))
    client = app.test_client()

    def post(update):
        response = client.post("/webhooks/telegram", json=update, headers={HEADER: SECRET})
        assert response.status_code == 200  # never a retry-inducing status

    resident = TelegramResident(post, fake)
    other = TelegramResident(post, fake, chat_id=700000999)
    try:
        resident.start()
        resident.says("maybe")
        resident.says("perhaps")  # three messages in all: each answered
        notices = [resident.says(f"extra {i}") for i in range(5)]
        assert notices[0] == [services.catalogs("en").gettext(SLOW_DOWN)]
        assert notices[1:] == [[]] * 4  # one notice, not one per extra message
        with services.db.read() as session:
            handled = session.scalar(select(func.count()).select_from(InboundMessage))
        assert handled == 3  # the extra messages were not processed
        assert "999" in other.start()[0]  # another chat is unaffected
    finally:
        services.db.dispose()
