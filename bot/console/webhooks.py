"""The webhooks page: is each of the landlord's receiving systems taking its events?

Managers and admins see every endpoint of the organisation file with what is waiting for
it, since when, the last error, and the last successful delivery; an endpoint with events
waiting after a failed attempt is marked failing, and the console's menu says so on every
page. "Try again now" makes the waiting events due at once (and puts any event given up
on back in the queue); it is audited. Events are never dropped here: only sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from bot import webhooks
from bot.console import audit
from bot.console.web import AUDITORS, bp, roles_required, services
from bot.models import OutboxMessage, utcnow
from bot.webhook_config import WebhookEndpoint


@dataclass(frozen=True)
class EndpointStatus:
    """How deliveries to one endpoint stand."""

    endpoint: WebhookEndpoint
    waiting: int
    waiting_since: datetime | None
    given_up: int
    last_error: str | None
    next_try: datetime | None
    last_delivered: datetime | None

    @property
    def failing(self) -> bool:
        """Return whether events wait after a failed attempt, or were given up on."""
        return self.given_up > 0 or self.last_error is not None

    @property
    def address(self) -> str:
        """Return the endpoint's address without its query (which may carry a key)."""
        parts = urlsplit(self.endpoint.url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _rows(endpoint: WebhookEndpoint):
    return (OutboxMessage.channel == webhooks.CHANNEL,
            OutboxMessage.kind == webhooks.kind_of(endpoint.name))


def status_of(session: Session, endpoint: WebhookEndpoint) -> EndpointStatus:
    """Return how deliveries to `endpoint` stand (unsent rows are indexed; cheap)."""
    counts = dict(session.execute(
        select(OutboxMessage.status, func.count()).where(
            *_rows(endpoint), OutboxMessage.status != "sent")
        .group_by(OutboxMessage.status)).all())
    since = session.scalar(select(func.min(OutboxMessage.created_at)).where(
        *_rows(endpoint), OutboxMessage.status == "pending"))
    # The oldest unsent row that was tried is the one holding its case's later events.
    stuck = session.execute(
        select(OutboxMessage.last_error, OutboxMessage.next_attempt_at).where(
            *_rows(endpoint), OutboxMessage.status != "sent", OutboxMessage.attempts > 0,
            OutboxMessage.last_error.is_not(None))
        .order_by(OutboxMessage.id).limit(1)).first()
    delivered = session.scalar(
        select(OutboxMessage.sent_at).where(*_rows(endpoint), OutboxMessage.status == "sent")
        .order_by(OutboxMessage.id.desc()).limit(1))
    return EndpointStatus(endpoint, waiting=counts.get("pending", 0), waiting_since=since,
                          given_up=counts.get("failed", 0),
                          last_error=stuck[0] if stuck else None,
                          next_try=stuck[1] if stuck else None, last_delivered=delivered)


def any_failing() -> bool:
    """Return whether any configured endpoint is failing (for the console's menu)."""
    s = services()
    with s.db.read() as session:
        return any(status_of(session, e).failing for e in s.org.webhooks)


@bp.app_context_processor
def _menu() -> dict:
    # A callable, so the query runs only where the menu shows the link (managers, admins).
    return {"webhooks_failing": any_failing}


@bp.get("/webhooks")
@roles_required(*AUDITORS)
def webhooks_page():
    """Show each webhook endpoint's deliveries: waiting, failing, last delivered."""
    s = services()
    with s.db.write() as session:
        statuses = [status_of(session, e) for e in s.org.webhooks]
        audit.record(session, current_user.username, "webhooks_viewed")
    return render_template("console/webhooks.html", statuses=statuses,
                           timezone=s.org.timezone)


@bp.post("/webhooks/<name>/retry")
@roles_required(*AUDITORS)
def retry_webhook(name: str):
    """Make an endpoint's waiting events due now, and requeue any given up on."""
    s = services()
    endpoint = next((e for e in s.org.webhooks if e.name == name), None)
    if endpoint is None:
        abort(404)
    with s.db.write() as session:
        now = utcnow()
        due = session.execute(update(OutboxMessage).where(
            *_rows(endpoint), or_(OutboxMessage.status == "failed",
                                  and_(OutboxMessage.status == "pending",
                                       OutboxMessage.next_attempt_at > now)))
            .values(status="pending", next_attempt_at=now)
            .execution_options(synchronize_session=False)).rowcount
        audit.record(session, current_user.username, "webhook_retry", endpoint=name,
                     events=due)
    flash(f"{due} event(s) for {name} will be tried again within a minute.", "info")
    return redirect(url_for("console.webhooks_page"))
