"""Webhook retries at scale: every message delivered three times at once, as providers do
under load, gives exactly the cases and replies that one delivery gives."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.db import Database
from bot.models import Case, InboundMessage
from bot.services import build_services
from tests.channels.twilio_support import TwilioResident, bodies, post, twilio_env
from tests.conftest import make_settings
from tests.helpers import VICTIM_REPORT

RESIDENTS = 6
ANSWERS = [m if isinstance(m, str) else m[0] for m, _ in VICTIM_REPORT]


@pytest.fixture
def app_and_services(tmp_path, db_url):
    url = db_url
    settings = make_settings(tmp_path, url, **twilio_env(TWILIO_RATE_LIMIT_PER_MINUTE="100"))
    services = build_services(settings, db=Database(url))
    yield create_app(services=services), services
    services.db.dispose()


def _three_at_once(send) -> list:
    """Call `send` from three threads at the same moment; return the three results."""
    barrier = threading.Barrier(3)
    results: list = [None] * 3

    def run(i: int) -> None:
        barrier.wait()
        results[i] = send()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _all_residents(resident) -> None:
    """Run `resident(n)` for every resident at once and wait for them all."""
    threads = [threading.Thread(target=resident, args=(n,)) for n in range(RESIDENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)


def test_sms_delivered_three_times_concurrently(app_and_services):
    app, services = app_and_services
    problems: list[str] = []

    def resident(n: int) -> None:
        texter = TwilioResident(app.test_client(), number=f"+44770090{n + 1:04d}")  # 0000 is ours
        for i, text in enumerate(["Hello", *ANSWERS]):
            fields = texter.fields(text, message_id="SM" + uuid.uuid4().hex)
            replies = _three_at_once(lambda f=fields: bodies(post(app.test_client(), f)))
            if len({tuple(r) for r in replies}) != 1:
                problems.append(f"resident {n} turn {i}: replies differ: {replies!r}"[:1500])

    _all_residents(resident)
    assert problems == []
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == RESIDENTS
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == \
            RESIDENTS * (len(ANSWERS) + 1)


def test_web_chat_retried_three_times_concurrently(app_and_services):
    app, services = app_and_services
    problems: list[str] = []

    def resident(n: int) -> None:
        client = app.test_client()
        token = client.post("/api/chat/sessions", json={}).json["session"]
        url = f"/api/chat/sessions/{token}/messages"
        for i, text in enumerate(ANSWERS):
            body = {"text": text, "client_id": uuid.uuid4().hex}
            replies = _three_at_once(
                lambda b=body: app.test_client().post(url, json=b).get_json())
            if any(r != replies[0] for r in replies):
                problems.append(f"resident {n} turn {i}: replies differ: {replies!r}"[:1500])

    _all_residents(resident)
    assert problems == []
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == RESIDENTS
