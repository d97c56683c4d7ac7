"""The README's receiver example, run as written against the real sender."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import httpx
from sqlalchemy import select

from bot import webhooks
from bot.models import OutboxMessage
from bot.outbox import Outbox
from tests.webhooks.conftest import ASB_SECRET, CRM_SECRET
from tests.webhooks.test_delivery import _report

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_receiver(monkeypatch) -> tuple[object, dict]:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- receiver example[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert block, "the README's receiver example is missing"
    stored: dict[str, tuple[str, dict]] = {}
    monkeypatch.setitem(os.environ, "REPORTBOT_WEBHOOK_SECRET", ASB_SECRET)
    namespace = {"__name__": "readme_receiver",
                 "already_stored": lambda message_id: message_id in stored,
                 "store": lambda message_id, kind, data: stored.update(
                     {message_id: (kind, data)})}
    exec(compile(block.group(1), "README.md", "exec"), namespace)  # noqa: S102
    return namespace["app"], stored


def test_the_readme_receiver_verifies_and_stores_each_event_once(hooked, monkeypatch):
    app, stored = _readme_receiver(monkeypatch)
    services = hooked('[[webhooks]]\nname = "asb"\n'
                      'url = "http://asb.larkspur-homes.example/hooks/reportbot"\n'
                      f'secret = "{ASB_SECRET}"\n')
    reference = _report(services)
    client = httpx.Client(transport=httpx.WSGITransport(app=app))
    sender = webhooks.WebhookSender(services, client=client)
    outbox = Outbox(services, {webhooks.CHANNEL: sender}, {webhooks.CHANNEL: webhooks.POLICY})
    [envelope] = outbox.claim()
    assert outbox.deliver(envelope).status == "sent"
    assert sender(envelope).status == "sent"  # delivered again: stored once
    [(kind, data)] = stored.values()
    assert kind == "case.created" and data["reference"] == reference
    with services.db.read() as session:
        assert session.scalar(select(OutboxMessage.status)) == "sent"

    # Signed with another secret: refused, and the event stays queued.
    forger = webhooks.WebhookSender(services, client=client)
    forger.endpoints["asb"] = replace(forger.endpoints["asb"], secrets=(CRM_SECRET,))
    result = forger(envelope)
    assert result.status == "retry" and result.error == "http 401"
    assert len(stored) == 1
