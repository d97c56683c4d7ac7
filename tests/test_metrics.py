"""/metrics: absent unless a token is set, answers only that token, times turns per channel,
reads the outbox, evidence and overdue cases from the database, and under gunicorn adds up
every worker's timings."""

from __future__ import annotations

from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from bot.app import create_app
from bot.models import Case, Evidence, OutboxMessage, utcnow
from bot.services import build_services
from tests.conftest import TEST_SECRET, english_only_org, make_settings
from tests.databases import migrated
from tests.sealed_support import victim_report
from tests.served import serve

TOKEN = "metrics-token-for-tests-0123456789"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _turns(text: str, channel: str) -> float:
    return _samples(text).get(("reportbot_turn_seconds_count", (("channel", channel),)), 0.0)


def _app(tmp_path, db_url: str | None = None, **extra):
    settings = make_settings(tmp_path, db_url, **extra)
    migrated(settings.database_url)
    services = build_services(settings)
    return create_app(services=services), services


def test_without_a_token_there_is_no_metrics_route(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


def test_a_wrong_or_missing_token_looks_like_no_route(tmp_path):
    app, services = _app(tmp_path, REPORTBOT_METRICS_TOKEN=TOKEN)
    client = app.test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer " + TOKEN[:-1]}
                      ).status_code == 404
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 404
    services.db.dispose()


def test_turns_are_timed_per_channel_and_state_comes_from_the_database(tmp_path, db_url):
    app, services = _app(tmp_path, db_url, REPORTBOT_METRICS_TOKEN=TOKEN)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = client.get("/metrics", headers=auth)
    assert before.status_code == 200
    assert before.content_type.startswith("text/plain")
    token = client.post("/api/chat/sessions", json={}).json["session"]
    for text in ("hello", "no"):
        client.post(f"/api/chat/sessions/{token}/messages", json={"text": text})

    reference = victim_report(services)
    with services.db.write() as session:
        session.execute(update(Case).where(Case.reference == reference)
                        .values(next_deadline=utcnow() - timedelta(hours=1)))
        session.add(OutboxMessage(kind="staff_alert", channel="email", payload_enc=b"",
                                  dedupe_key="metrics-test-failed", status="failed"))
        session.add(Evidence(channel="telegram", status="failed", content_type="image/png",
                             received_at=utcnow()))

    after = client.get("/metrics", headers=auth).get_data(as_text=True)
    # Opening the session is a turn too (it answers with the greeting).
    assert _turns(after, "webchat") - _turns(before.get_data(as_text=True), "webchat") == 3
    figures = _samples(after)
    assert figures[("reportbot_cases_overdue", ())] == 1
    assert figures[("reportbot_outbox_failed", (("kind", "email"),))] == 1
    assert figures[("reportbot_media_not_stored",
                    (("channel", "telegram"), ("status", "failed")))] == 1
    # Routes are labelled by their rule: never a session token, a path or a number.
    assert token not in after
    assert '/api/chat/sessions/<token>/messages' in after
    services.db.dispose()


def test_under_gunicorn_every_workers_turns_are_counted(tmp_path):
    env = {"REPORTBOT_INSTANCE_DIR": str(tmp_path / "instance"),
           "REPORTBOT_SECRET_KEY": TEST_SECRET,
           "REPORTBOT_ORG_FILE": str(english_only_org(tmp_path)),
           "REPORTBOT_METRICS_TOKEN": TOKEN}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with serve(env, workers=2) as served, httpx.Client(base_url=served.url) as http:
        turns = 0
        for _ in range(12):  # new connections, so both workers take some
            with httpx.Client(base_url=served.url) as one:
                token = one.post("/api/chat/sessions", json={}).json()["session"]
                assert one.post(f"/api/chat/sessions/{token}/messages",
                                json={"text": "hello"}).status_code == 200
                turns += 2  # the opening and one message
        scrapes = {_turns(http.get("/metrics", headers=auth).text, "webchat")
                   for _ in range(6)}
        assert scrapes == {turns}
        assert (tmp_path / "instance" / "metrics").is_dir()
