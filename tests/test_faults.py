"""Faults: the database going away, and a worker killed in the middle of conversations."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bot.db import Database
from bot.models import Case
from tests.conftest import TEST_SECRET, english_only_org
from tests.helpers import VICTIM_REPORT
from tests.served import REPORTBOT, free_port, start


def start_serving(env: dict[str, str]):
    """Serve with two gunicorn workers on a free port."""
    port = free_port()
    return start([REPORTBOT, "serve", "--port", str(port), "--workers", "2"], env, port)


def test_database_unavailable_gives_a_retryable_503_and_loses_nothing(client, services,
                                                                      settings):
    token = client.post("/api/chat/sessions", json={}).json["session"]
    url = f"/api/chat/sessions/{token}/messages"
    assert client.post(url, json={"choice": "no", "client_id": "a1"}).status_code == 200
    db_file = Path(settings.database_url[len("sqlite:///"):])
    services.db.dispose()
    hidden = db_file.with_suffix(".away")
    os.rename(db_file, hidden)
    db_file.mkdir()  # the path now cannot be opened as a database
    try:
        response = client.post(url, json={"choice": "victim", "client_id": "a2"})
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert "try again" in response.json["message"]
        assert client.get("/healthz").status_code == 503
    finally:
        db_file.rmdir()
        os.rename(hidden, db_file)
        services.db.dispose()
    retried = client.post(url, json={"choice": "victim", "client_id": "a2"})
    assert retried.status_code == 200
    assert retried.json["messages"][-1]["question"] == "anonymous"
    assert client.get("/healthz").status_code == 200


def _env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {"REPORTBOT_INSTANCE_DIR": str(tmp_path / "instance"),
            "REPORTBOT_SECRET_KEY": TEST_SECRET, "REPORTBOT_DATABASE_URL": database_url,
            "REPORTBOT_ORG_FILE": str(english_only_org(tmp_path))}


def test_sigkill_of_a_worker_mid_conversation_loses_nothing(tmp_path, db_url):
    """Kill a gunicorn worker with SIGKILL while residents are mid-report; clients retry
    like the web chat page (same body, same client id). Every report is stored exactly once
    and every conversation carries on from its last answered step."""
    url_db = db_url
    served = start_serving(_env(tmp_path, url_db))
    base = served.url
    answers = [m if isinstance(m, str) else m[0] for m, _ in VICTIM_REPORT]
    residents, problems, retries = 8, [], []
    started = threading.Event()

    def post(client: httpx.Client, url: str, body: dict, expected: int) -> httpx.Response | None:
        """Post like the page does: the same body again after a dropped connection."""
        for attempt in range(30):
            try:
                response = client.post(url, json=body)
                if response.status_code == expected:
                    return response
            except httpx.TransportError:
                pass
            retries.append(1)
            time.sleep(0.1 * (attempt + 1))
        return None

    def resident() -> None:
        with httpx.Client(timeout=10) as client:
            # A slow start may still be opening its session when the worker is killed.
            opened = post(client, f"{base}/api/chat/sessions", {}, 201)
            if opened is None:
                problems.append("could not open a session")
                return
            token = opened.json()["session"]
            for i, text in enumerate(answers):
                if i == 8:
                    started.set()
                body = {"text": text, "client_id": uuid.uuid4().hex}
                response = post(client, f"{base}/api/chat/sessions/{token}/messages", body, 200)
                if response is None:
                    problems.append(f"gave up at turn {i}")
                    return
                expected = VICTIM_REPORT[i][1]
                asked = [m["question"] for m in response.json()["messages"] if m["question"]]
                if (asked[-1] if asked else None) != expected:
                    problems.append(f"turn {i}: expected {expected}, got {asked}")
                    return

    threads = [threading.Thread(target=resident) for _ in range(residents)]
    try:
        for t in threads:
            t.start()
        started.wait(30)
        victim = served.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        for t in threads:
            t.join(120)
    finally:
        served.stop()
    assert problems == []
    db = Database(url_db)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == residents
    db.dispose()
    print(f"worker {victim} killed; {len(retries)} client retries; {residents} reports "
          f"stored once each")
