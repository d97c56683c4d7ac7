"""Staff notifications: new high-priority cases, deadlines, repair requests, sent by email.

Nothing here sends directly. Each notice is put in the outbox in the transaction that
caused it, with a dedupe key, and `reportbot worker` delivers it through `outbox_sender`
(channel "staff_email"). A notice carries the case reference and a link, never report
content or contact details; a repair request adds the location and nothing else (4.8).

Configuration (environment):
  REPORTBOT_SMTP_HOST, REPORTBOT_SMTP_PORT (25), REPORTBOT_SMTP_FROM, REPORTBOT_SMTP_STARTTLS
  ("1" to upgrade), REPORTBOT_SMTP_USER / REPORTBOT_SMTP_PASSWORD (optional);
  REPORTBOT_DUTY_EMAILS, REPORTBOT_MANAGER_EMAILS (comma-separated), REPORTBOT_REPAIRS_EMAIL.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import ConfigError
from bot.models import Case, utcnow
from bot.outbox import Envelope, SendResult, enqueue

log = logging.getLogger("reportbot.notify")

CHANNEL = "staff_email"
APPROACHING_SECONDS = 2 * 3600
_SCAN_AHEAD = timedelta(days=7)
_LOCATION_TYPES = {"home": "at or near a home", "communal": "a shared area",
                   "estate": "on the estate or street", "online": "online",
                   "elsewhere": "elsewhere"}


def _recipients(services, key: str) -> list[str]:
    raw = services.settings.extra.get(key, "")
    return [a.strip() for a in raw.split(",") if a.strip()]


def _link(services, case: Case) -> str:
    return f"{services.settings.public_url or ''}/console/cases/{case.reference}"


def _queue(session: Session, services, case: Case, key: str, to: list[str], subject: str,
           body: str, dedupe_key: str) -> bool:
    if not to:
        return False
    return enqueue(session, services.vault, kind=key, channel=CHANNEL,
                   payload={"to": to, "subject": subject, "body": body},
                   dedupe_key=dedupe_key, case_id=case.id) is not None


def case_created(session: Session, services, case: Case) -> bool:
    """Tell the duty officers about a new high-priority case, once per case."""
    if case.priority != "high" or case.status == "closed":
        return False
    session.flush()
    return _queue(
        session, services, case, "staff_alert", _recipients(services, "REPORTBOT_DUTY_EMAILS"),
        f"High-priority case {case.reference}",
        f"A high-priority case needs a duty officer: {case.reference}\n{_link(services, case)}\n",
        f"staff_alert:high:{case.id}",
    )


def repair_request(session: Session, services, case: Case) -> bool:
    """Ask the repairs team for an urgent repair, with the location only (4.8)."""
    details = services.store.details(case)
    where = details.get("location") or "(no address given: contact the case officer)"
    keep = {"keep": "Evidence must be preserved first: check with the case officer.",
            "not_sure": "Check with the case officer before cleaning: evidence may be needed.",
            }.get(case.preserve_evidence or "", "")
    body = (f"Urgent repair or graffiti removal, case {case.reference}.\n"
            f"Location ({_LOCATION_TYPES.get(case.location_type or '', 'not stated')}): "
            f"{where}\n{keep}\n")
    return _queue(session, services, case, "repair_request",
                  _recipients(services, "REPORTBOT_REPAIRS_EMAIL"),
                  f"Urgent repair for case {case.reference}", body, f"repair:{case.id}")


def escalate(services, now: datetime | None = None) -> int:
    """Tell managers once per case and deadline that it is approaching or overdue (4.10)."""
    now = now or utcnow()
    managers = _recipients(services, "REPORTBOT_MANAGER_EMAILS")
    if not managers:
        return 0
    queued = 0
    with services.db.write() as session:
        cases = session.scalars(select(Case).where(
            Case.status != "closed", Case.next_deadline.is_not(None),
            Case.next_deadline <= now + _SCAN_AHEAD)).all()
        for case in cases:
            which = "first contact" if case.first_contact_at is None else "action plan"
            if case.next_deadline <= now:
                stage = "overdue"
            elif services.calendar.working_seconds_between(
                    now, case.next_deadline) <= APPROACHING_SECONDS:
                stage = "approaching"
            else:
                continue
            queued += _queue(
                session, services, case, "deadline_alert", managers,
                f"Case {case.reference}: {which} deadline {stage}",
                f"The {which} deadline of case {case.reference} is {stage}.\n"
                f"{_link(services, case)}\n",
                f"deadline:{case.id}:{which.replace(' ', '_')}:{stage}",
            )
    return queued


def outbox_sender(services):
    """Return the email sender when REPORTBOT_SMTP_HOST is set, else None."""
    extra = services.settings.extra
    host = extra.get("REPORTBOT_SMTP_HOST")
    if not host:
        return None
    port_raw = extra.get("REPORTBOT_SMTP_PORT") or "25"
    if not port_raw.isdigit():
        raise ConfigError(f"REPORTBOT_SMTP_PORT must be a port number, got {port_raw!r}")
    sender = extra.get("REPORTBOT_SMTP_FROM")
    if not sender:
        raise ConfigError("REPORTBOT_SMTP_FROM must be set when REPORTBOT_SMTP_HOST is")
    starttls = extra.get("REPORTBOT_SMTP_STARTTLS") == "1"
    user, password = extra.get("REPORTBOT_SMTP_USER"), extra.get("REPORTBOT_SMTP_PASSWORD")

    def send(envelope: Envelope) -> SendResult:
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = ", ".join(envelope.payload["to"])
        msg["Subject"] = envelope.payload["subject"]
        # The same Message-ID on every attempt lets mail systems drop a duplicate if a
        # worker died after sending but before recording it.
        msg["Message-ID"] = f"<reportbot-outbox-{envelope.id}@{sender.rpartition('@')[2]}>"
        msg.set_content(envelope.payload["body"])
        try:
            with smtplib.SMTP(host, int(port_raw), timeout=15) as smtp:
                if starttls:
                    smtp.starttls()
                if user and password:
                    smtp.login(user, password)
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused:
            return SendResult.failed("recipients refused")
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                return SendResult.failed(f"smtp {exc.smtp_code}")
            return SendResult.retry(f"smtp {exc.smtp_code}")
        except (OSError, smtplib.SMTPException) as exc:
            return SendResult.retry(type(exc).__name__)
        return SendResult.sent()

    return CHANNEL, send
