"""A report made on a served instance reaches a receiving system through `reportbot worker`,
while the receiver first answers 503 with Retry-After (busy, restarting)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx

from tests.conftest import TEST_SECRET
from tests.helpers import VICTIM_REPORT
from tests.served import REPORTBOT, serve
from tests.webhooks.conftest import hook, org_with_webhooks


def test_a_served_report_reaches_the_receiver_through_the_worker(tmp_path, db_url, asb):
    env = {"REPORTBOT_INSTANCE_DIR": str(tmp_path / "instance"),
           "REPORTBOT_DATABASE_URL": db_url, "REPORTBOT_SECRET_KEY": TEST_SECRET,
           "REPORTBOT_ORG_FILE": str(org_with_webhooks(tmp_path, hook("asb", asb)))}
    asb.refuse = [(503, {"Retry-After": "1"})] * 3
    asb.start()
    with serve(env, workers=2) as served, httpx.Client(base_url=served.url,
                                                        timeout=10) as client:
        token = client.post("/api/chat/sessions", json={}).json()["session"]
        for message, _question in VICTIM_REPORT:
            body = {"text": message} if isinstance(message, str) else {"choices": message}
            assert client.post(f"/api/chat/sessions/{token}/messages",
                               json=body).status_code == 200
        assert asb.deliveries == []  # the resident's turn sent nothing itself
        worker = subprocess.Popen([REPORTBOT, "worker"], env={**os.environ, **env},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not asb.stored() and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(20)
    [event] = asb.stored()
    assert event["type"] == "case.created" and event["data"]["change"] == "received"
    assert len(asb.deliveries) == 4 and len(set(asb.deliveries)) == 1
