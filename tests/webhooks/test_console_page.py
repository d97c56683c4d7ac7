"""The console's webhooks page: a failing endpoint is visible to managers and admins."""

from __future__ import annotations

from sqlalchemy import select

from bot import webhooks
from bot.app import create_app
from bot.models import AuditLog, OutboxMessage, utcnow
from tests.console.conftest import CHEAP_ARGON2, add_staff, csrf_from, login
from tests.webhooks.conftest import Clock, Worker, hook
from tests.webhooks.test_delivery import _report


def test_a_failing_endpoint_is_shown_and_can_be_tried_again(hooked, asb):
    services = hooked(hook("asb", asb), **CHEAP_ARGON2)
    add_staff(services)
    app = create_app(services=services)
    clock = Clock()
    worker = Worker(services, clock)
    _report(services)
    worker.run()  # the receiver is down

    admin = app.test_client()
    login(admin, "admin")
    page = admin.get("/console/webhooks")
    assert page.status_code == 200
    assert "Failing" in page.text and "ConnectError" in page.text
    assert asb.url in page.text and "Webhooks (failing)" in page.text
    assert asb.secret not in page.text

    for user in ("duty1", "cm", "analyst"):
        other = app.test_client()
        login(other, user)
        assert other.get("/console/webhooks").status_code == 403, user
        assert "Webhooks" not in other.get("/console/").text

    asb.start()
    retry = admin.post("/console/webhooks/asb/retry",
                       data={"csrf_token": csrf_from(page.text)})
    assert retry.status_code == 302
    with services.db.read() as session:
        row = session.scalars(select(OutboxMessage).where(
            OutboxMessage.channel == webhooks.CHANNEL)).one()
        assert row.next_attempt_at <= utcnow()
        actions = session.scalars(select(AuditLog.action).where(
            AuditLog.actor == "admin")).all()
    assert "webhook_retry" in actions and "webhooks_viewed" in actions
    clock.advance(seconds=31)  # a worker rests an unreachable endpoint for 30 s
    worker.run()
    assert len(asb.stored()) == 1
    page = admin.get("/console/webhooks")
    assert "Failing" not in page.text and "never" not in page.text
    assert "Webhooks (failing)" not in page.text


def test_retry_needs_a_csrf_token_and_a_known_endpoint(hooked, asb):
    services = hooked(hook("asb", asb), **CHEAP_ARGON2)
    add_staff(services)
    client = create_app(services=services).test_client()
    login(client, "boss")
    assert client.post("/console/webhooks/asb/retry").status_code == 400
    token = csrf_from(client.get("/console/webhooks").text)
    assert client.post("/console/webhooks/nope/retry",
                       data={"csrf_token": token}).status_code == 404
