"""JSON nested 10,000 deep (issue 14): a 400 with a clear message on every JSON route,
never a 500, and the log names only the route's rule (never the path's token or the body)."""

from __future__ import annotations

import logging

import pytest

from bot.app import create_app
from bot.settings import DEMO_ORG_FILE
from bot.web_defaults import MAX_JSON_DEPTH, nested_deeper_than
from tests.channels.fake_telegram import FakeBotApi
from tests.channels.telegram_support import HEADER, SECRET, TOKEN, telegram_env
from tests.conftest import make_settings

DEEP = b'{"text": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"


@pytest.fixture
def fake():
    server = FakeBotApi(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path, fake):
    return make_settings(tmp_path, **telegram_env(fake))


def test_depth_scan_counts_only_brackets_outside_strings():
    assert not nested_deeper_than(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    assert nested_deeper_than(b"[" * (MAX_JSON_DEPTH + 1))
    assert not nested_deeper_than(b'{"text": "' + b"[{" * 5000 + b'"}')
    assert not nested_deeper_than(b'{"text": "\\"' + b"[" * 100 + b'"}')
    assert nested_deeper_than(b'{"a": "\\\\"' + b", \"b\": " + b"[" * 40 + b"}")


def test_deep_json_is_a_400_on_every_json_route(client, api_token, caplog):
    caplog.set_level(logging.DEBUG)
    token = client.post("/api/chat/sessions", json={}).json["session"]
    headers = {"Content-Type": "application/json"}
    answers = {
        "sessions": client.post("/api/chat/sessions", data=DEEP, headers=headers),
        "messages": client.post(f"/api/chat/sessions/{token}/messages", data=DEEP,
                                headers=headers),
        "telegram": client.post("/webhooks/telegram", data=DEEP,
                                headers={**headers, HEADER: SECRET}),
        "case api": client.post("/api/v1/cases", data=DEEP, headers={
            **headers, "Authorization": f"Bearer {api_token}"}),
    }
    for name, response in answers.items():
        assert response.status_code == 400, name
        assert response.json == {"error": "bad_request",
                                 "message": "The JSON body is nested too deeply."}, name
    logged = caplog.text
    assert "/api/chat/sessions/<token>/messages" in logged
    assert token not in logged and "[[[" not in logged
    # A shallow body on the same session still works.
    ok = client.post(f"/api/chat/sessions/{token}/messages", json={"text": "[[x]]"})
    assert ok.status_code == 200


def test_the_message_is_in_the_browsers_language(tmp_path):
    app = create_app(make_settings(tmp_path, REPORTBOT_ORG_FILE=str(DEMO_ORG_FILE)))
    response = app.test_client().post(
        "/api/chat/sessions", data=DEEP,
        headers={"Content-Type": "application/json", "Accept-Language": "pl"})
    assert response.status_code == 400
    assert response.json["message"] != "The JSON body is nested too deeply."
