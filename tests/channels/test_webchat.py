"""The web chat API: its contract, choice ids, dedupe by client id, and bad requests."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from bot.models import Case
from tests.channels.contract import ChannelContract, ChannelResident


class WebchatResident(ChannelResident):
    def __init__(self, client) -> None:
        self.client = client
        self.token: str | None = None

    def start(self) -> list[str]:
        response = self.client.post("/api/chat/sessions", json={})
        assert response.status_code == 201
        self.token = response.json["session"]
        return [m["text"] for m in response.json["messages"]]

    def post(self, body: dict):
        return self.client.post(f"/api/chat/sessions/{self.token}/messages", json=body)

    def says(self, text: str, message_id: str | None = None) -> list[str]:
        response = self.post({"text": text, "client_id": message_id or uuid.uuid4().hex})
        assert response.status_code == 200, response.json
        return [m["text"] for m in response.json["messages"]]


class TestWebchatContract(ChannelContract):
    channel = "webchat"

    def resident(self, app, services):
        return WebchatResident(app.test_client())


def test_session_messages_use_stable_ids(client):
    response = client.post("/api/chat/sessions", json={})
    body = response.json
    assert response.status_code == 201 and len(body["session"]) >= 32
    question = body["messages"][-1]
    assert question["question"] == "immediate_danger"
    assert [c["id"] for c in question["choices"]] == ["yes", "no", "have_reference"]
    assert question["multiple"] is False and question["lang"] == "en"
    assert response.headers["Cache-Control"] == "no-store"


def test_choice_choices_label_and_number_all_work(client):
    token = client.post("/api/chat/sessions", json={}).json["session"]
    url = f"/api/chat/sessions/{token}/messages"
    body = client.post(url, json={"choice": "no"}).json
    assert body["messages"][-1]["question"] == "reporter_role" and body["done"] is False
    body = client.post(url, json={"text": "It happened to me"}).json
    assert body["messages"][-1]["question"] == "anonymous"
    body = client.post(url, json={"text": "2"}).json
    assert body["messages"][-1]["question"] == "narrative"
    body = client.post(url, json={"text": "They shouted abuse at me in the lift."}).json
    assert body["messages"][-1]["question"] == "incident_when"
    assert body["messages"][-1]["progress"] == {
        "step": 4, "total": 7, "text": "Step 4 of about 7", "section": "When and where"}
    client.post(url, json={"choice": "today"})
    client.post(url, json={"choice": "online"})
    client.post(url, json={"text": "yes"})
    body = client.post(url, json={"choices": ["religion", "age"]}).json
    assert body["messages"][-1]["question"] == "repair_needed"
    multi = client.post(url, json={"text": "back"}).json["messages"][-1]
    assert multi["question"] == "strands" and multi["multiple"] is True


def test_same_client_id_is_handled_once(client, services):
    token = client.post("/api/chat/sessions", json={}).json["session"]
    url = f"/api/chat/sessions/{token}/messages"
    first = client.post(url, json={"choice": "no", "client_id": "abc-1"}).json
    second = client.post(url, json={"choice": "no", "client_id": "abc-1"}).json
    assert first == second
    third = client.post(url, json={"choice": "victim", "client_id": "abc-2"}).json
    assert third["messages"][-1]["question"] == "anonymous"


@pytest.mark.parametrize("body", [
    "not json", {"text": 5}, {"choice": "x" * 100}, {"choices": "yes"},
    {"choices": [1, 2]}, {"text": "a" * 5001}, {"client_id": "bad id with spaces"},
    [1, 2, 3],
])
def test_malformed_bodies_get_400_with_a_message(client, body):
    token = client.post("/api/chat/sessions", json={}).json["session"]
    url = f"/api/chat/sessions/{token}/messages"
    if isinstance(body, str):
        response = client.post(url, data=body, content_type="application/json")
    else:
        response = client.post(url, json=body)
    assert response.status_code == 400
    assert response.json["error"] == "bad_request" and response.json["message"]


def test_unknown_session_is_404_and_creates_nothing(client, services):
    response = client.post("/api/chat/sessions/" + "A" * 43 + "/messages",
                           json={"text": "hello"})
    assert response.status_code == 404 and "start a new report" in response.json["message"]
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_oversize_request_is_refused_kindly(client):
    token = client.post("/api/chat/sessions", json={}).json["session"]
    response = client.post(f"/api/chat/sessions/{token}/messages",
                           data="x" * (300 * 1024), content_type="application/json")
    assert response.status_code == 413 and response.json["message"]


def test_chat_page_is_served_with_a_strict_policy(client):
    response = client.get("/chat")
    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    assert 'id="quick-exit"' in page and "999" in page
