"""Staff notifications: new high-priority cases, deadlines, repair requests.

Nothing here sends directly. Each notice is put in the outbox in the transaction that
caused it, one row per target with a dedupe key (case, event, target) and its target kind
("staff_email", "staff_sms", "staff_telegram"), and `reportbot worker` delivers it: e-mail
through SMTP (`email_sender`, here), SMS and Telegram through the senders the channels
offer for those kinds. A notice carries the case
reference, its priority and hate flag, and a console link, never report content or contact
details; a repair request adds the location and nothing else (4.8).

Who is told: a new high-priority case goes to the targets of the duty rota entries on duty
at the case's received time (organisation file, bot/rota.py); deadlines go to the
`[[managers]]`. Without a rota (or when no entry covers that time, a gap in the rota) the
duty emails of REPORTBOT_DUTY_EMAILS are used; without managers, REPORTBOT_MANAGER_EMAILS.
A target whose channel is not configured is skipped (and said so in the log).

Alerts of new high-priority cases coalesce per target (REPORTBOT_ALERT_WINDOW_MINUTES): the
first goes at once and opens a window; cases in that window join one pending row for the
target ("staff_alert_digest"), sent when the window ends, which opens the next window. So
a burst of 40 reports gives each officer one alert now and one list a few minutes later,
while every case is in the console's queue at once. The window is kept in `rate_counts`
(kind "staff_alert", keyed by the target's blind index), so it holds across workers.

Configuration (environment):
  REPORTBOT_SMTP_HOST, REPORTBOT_SMTP_PORT (25), REPORTBOT_SMTP_FROM, REPORTBOT_SMTP_STARTTLS
  ("1" to upgrade), REPORTBOT_SMTP_USER / REPORTBOT_SMTP_PASSWORD (optional);
  REPORTBOT_DUTY_EMAILS, REPORTBOT_MANAGER_EMAILS (comma-separated), REPORTBOT_REPAIRS_EMAIL;
  staff SMS needs TWILIO_AUTH_TOKEN, TWILIO_ACCOUNT_SID and TWILIO_SMS_FROM; staff Telegram
  chats need TELEGRAM_BOT_TOKEN.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import rota
from bot.models import Case, OutboxMessage, RateCount, utcnow
from bot.outbox import enqueue
from bot.sending import Envelope, Sender, SendResult
from bot.upsert import insert
from flows import places

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("reportbot.notify")

CHANNEL = "staff_email"
SMS_CHANNEL = "staff_sms"
TELEGRAM_CHANNEL = "staff_telegram"
CHANNELS = {"email": CHANNEL, "sms": SMS_CHANNEL, "telegram": TELEGRAM_CHANNEL}
ALERT, DIGEST = "staff_alert", "staff_alert_digest"
APPROACHING_SECONDS = 2 * 3600
_SCAN_AHEAD = timedelta(days=7)
_LOCATION_TYPES = {"home": "at or near a home", "communal": "a shared area",
                   "estate": "on the estate or street", "online": "online",
                   "elsewhere": "elsewhere"}


def _link(services: Services, case: Case) -> str:
    return f"{services.settings.public_url or ''}/console/cases/{case.reference}"


def _configured(services: Services, kind: str) -> bool:
    settings = services.settings
    if kind == "email":
        return settings.smtp is not None
    if kind == "sms":
        return settings.twilio is not None and bool(settings.twilio.sms_from)
    return settings.telegram is not None


def duty_targets(services: Services, when: datetime) -> list[tuple[str, str]]:
    """Return the (kind, address) targets of whoever is on duty at the instant `when`."""
    if services.org.duty_rota:
        targets = rota.targets_of(rota.on_duty(services.org.duty_rota, when,
                                               services.calendar))
        if targets:
            return targets
        log.warning("no duty rota entry covers %s; using REPORTBOT_DUTY_EMAILS",
                    when.isoformat(timespec="minutes"))
    return [("email", a) for a in services.settings.emails("duty")]


def manager_targets(services: Services) -> list[tuple[str, str]]:
    """Return the managers' (kind, address) targets."""
    if services.org.managers:
        return rota.targets_of(services.org.managers)
    return [("email", a) for a in services.settings.emails("managers")]


def _flags(case: Case) -> str:
    return f"{case.priority} priority" + (", hate-related" if case.hate_related else "")


def _queue(session: Session, services: Services, case: Case, key: str, to: list[str], subject: str,
           body: str, dedupe_key: str) -> bool:
    if not to:
        return False
    return enqueue(session, services.vault, kind=key, channel=CHANNEL,
                   payload={"to": to, "subject": subject, "body": body},
                   dedupe_key=dedupe_key, case_id=case.id) is not None


def _payload(kind: str, address: str, subject: str, body: str, short: str) -> dict:
    if kind == "email":
        return {"to": [address], "subject": subject, "body": body}
    if kind == "sms":
        return {"to": address, "text": short}
    return {"chat_id": address, "text": short}


def _queue_targets(session: Session, services: Services, case: Case, key: str,
                   targets: list[tuple[str, str]], subject: str, body: str, short: str,
                   dedupe_key: str, coalesce: bool = False) -> tuple[int, int]:
    """Queue one message per target; return how many were new and how many skipped.

    With `coalesce`, a target already alerted within the alert window gets the case added
    to its one pending digest instead (see the module's docstring).
    """
    queued = skipped = 0
    for kind, address in targets:
        if not _configured(services, kind):
            skipped += 1
            continue
        # The target is in the key as a keyed hash: the key is stored in clear.
        index = services.vault.index("staff_target", f"{kind}:{address}")
        target = index[:24]
        dedupe = f"{dedupe_key}:{kind}:{target}"
        if coalesce and session.scalar(select(OutboxMessage.id).where(
                OutboxMessage.dedupe_key == dedupe)) is not None:
            continue  # this case was already alerted to this target
        if coalesce:
            due = _window_end(session, services, index)
            if due is not None:
                queued += _join_digest(session, services, case, kind, address, target, due)
                continue
        queued += enqueue(session, services.vault, kind=key, channel=CHANNELS[kind],
                          payload=_payload(kind, address, subject, body, short),
                          dedupe_key=dedupe, case_id=case.id) is not None
    return queued, skipped


def _window_end(session: Session, services: Services, index: str) -> datetime | None:
    """Return when the target's open alert window ends, or None after opening a new one."""
    now = utcnow()
    window = timedelta(minutes=services.settings.alert_window_minutes)
    start = session.scalar(
        select(RateCount.window_start)
        .where(RateCount.kind == ALERT, RateCount.key_index == index,
               RateCount.window_start > now - window, RateCount.window_start <= now)
        .order_by(RateCount.window_start.desc()).limit(1).with_for_update())
    if start is not None:
        return start + window
    _open_window(session, index, now)
    return None


def _open_window(session: Session, index: str, start: datetime) -> None:
    session.execute(insert(session, RateCount).values(
        kind=ALERT, key_index=index, window_start=start, count=1, notified=False,
    ).on_conflict_do_nothing(index_elements=["kind", "key_index", "window_start"]))


def _join_digest(session: Session, services: Services, case: Case, kind: str, address: str,
                 target: str, due: datetime) -> bool:
    """Add `case` to the target's digest sent at `due`; return whether a row was new."""
    vault = services.vault
    key = f"{DIGEST}:{kind}:{target}:{due.strftime('%Y%m%dT%H%M%S')}"
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == key)
                         .with_for_update())
    cases = [] if row is None else vault.open_json(row.payload_enc)["cases"]
    line = f"{case.reference} ({_flags(case)})"
    if line in cases:
        return False
    cases.append(line)
    payload = {**_digest(services, kind, address, cases), "cases": cases}
    if row is None:
        # Sending the digest at `due` opens the next window there: at most one alert per
        # window for this target, however long the burst.
        _open_window(session, vault.index("staff_target", f"{kind}:{address}"), due)
        return enqueue(session, vault, kind=DIGEST, channel=CHANNELS[kind], payload=payload,
                       dedupe_key=key, not_before=due) is not None
    if row.status == "pending":
        row.payload_enc = vault.seal_json(payload)
    return False


def _digest(services: Services, kind: str, address: str, cases: list[str]) -> dict:
    """Return one target's digest of the high-priority cases of a window."""
    queue = f"{services.settings.public_url or ''}/console/queue"
    many = len(cases) > 1
    what = (f"{len(cases)} new high-priority reports need a duty officer" if many
            else "1 new high-priority report needs a duty officer")
    subject = f"{len(cases)} new high-priority case" + ("s" if many else "")
    body = f"{what}:\n" + "".join(f"- {c}\n" for c in cases) + f"{queue}\n"
    short = f"Reportbot: {what}: {', '.join(c.split(' ')[0] for c in cases)}. {queue}"
    return _payload(kind, address, subject, body, short)


def case_created(session: Session, services: Services, case: Case,
                 when: datetime | None = None) -> bool:
    """Tell the duty officers on the rota about a new high-priority case, once per target.

    The rota is read at `when`: the case's received time for a new report, the present
    moment for a case raised to high priority later (whoever is on duty now must act).
    """
    if case.priority != "high" or case.status == "closed":
        return False
    session.flush()
    link = _link(services, case)
    targets = duty_targets(services, when or case.received_at)
    queued, skipped = _queue_targets(
        session, services, case, ALERT, targets,
        f"High-priority case {case.reference}",
        f"A high-priority case needs a duty officer: {case.reference} ({_flags(case)})\n"
        f"{link}\n",
        f"Reportbot: case {case.reference} ({_flags(case)}) needs a duty officer. {link}",
        f"staff_alert:high:{case.id}", coalesce=True,
    )
    if skipped == len(targets):
        log.warning("high-priority case %s reaches no duty officer: no target on a "
                    "configured channel", case.id)
    elif skipped and queued:
        log.info("case %s: %d duty target(s) skipped, channel not configured",
                 case.id, skipped)
    return queued > 0


def resident_wrote(session: Session, services: Services, case: Case, what: str,
                   when: datetime) -> bool:
    """Tell the assigned officer (or whoever is on duty) the resident added to the case.

    One alert per case per hour at most: several entries or replies in a row are one alert.
    """
    session.flush()
    link = _link(services, case)
    assigned = [t for entry in (*services.org.duty_rota, *services.org.managers)
                if case.assignee and entry.name == case.assignee for t in entry.targets.items()]
    targets = list(dict.fromkeys(assigned)) or duty_targets(services, when)
    queued, _skipped = _queue_targets(
        session, services, case, "staff_followup", targets,
        f"Case {case.reference}: the resident added a {what}",
        f"The resident added a {what} to case {case.reference} ({_flags(case)}).\n{link}\n",
        f"Reportbot: the resident added a {what} to case {case.reference}. {link}",
        f"staff_followup:{case.id}:{when.strftime('%Y%m%d%H')}",
    )
    return queued > 0


def repair_request(session: Session, services: Services, case: Case) -> bool:
    """Ask the repairs team for an urgent repair, with the location only (4.8)."""
    details = services.store.details(case)
    # A shared map pin reads as its address and coordinates, with links to open it.
    where = " ".join([places.describe(details.get("location")),
                      *(url for _, url in places.links(details.get("location")))]).strip() \
        or "(no address given: contact the case officer)"
    keep = {"keep": "Evidence must be preserved first: check with the case officer.",
            "not_sure": "Check with the case officer before cleaning: evidence may be needed.",
            }.get(case.preserve_evidence or "", "")
    body = (f"Urgent repair or graffiti removal, case {case.reference}.\n"
            f"Location ({_LOCATION_TYPES.get(case.location_type or '', 'not stated')}): "
            f"{where}\n{keep}\n")
    return _queue(session, services, case, "repair_request",
                  services.settings.emails("repairs"),
                  f"Urgent repair for case {case.reference}", body, f"repair:{case.id}")


def escalate(services: Services, now: datetime | None = None) -> int:
    """Tell managers once per case and deadline that it is approaching or overdue (4.10)."""
    now = now or utcnow()
    managers = manager_targets(services)
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
            link = _link(services, case)
            queued += _queue_targets(
                session, services, case, "deadline_alert", managers,
                f"Case {case.reference}: {which} deadline {stage}",
                f"The {which} deadline of case {case.reference} ({_flags(case)}) is "
                f"{stage}.\n{link}\n",
                f"Reportbot: case {case.reference} ({_flags(case)}): {which} deadline "
                f"{stage}. {link}",
                f"deadline:{case.id}:{which.replace(' ', '_')}:{stage}",
            )[0]
    return queued


def check_targets(services: Services, kinds: frozenset[str]) -> None:
    """Log the staff targets of the organisation file that no configured sender reaches."""
    wanted = {kind for kind, _a in rota.targets_of((*services.org.duty_rota,
                                                    *services.org.managers))}
    missing = sorted(CHANNELS[k] for k in wanted if CHANNELS[k] not in kinds)
    if missing:
        log.warning("staff targets in the organisation file not reachable, channel not "
                    "configured: %s", ", ".join(missing))


def email_sender(services: Services) -> Sender | None:
    """Return the email sender when REPORTBOT_SMTP_HOST is set, else None."""
    smtp = services.settings.smtp
    if smtp is None:
        return None
    sender = smtp.sender

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
            with smtplib.SMTP(smtp.host, smtp.port, timeout=15) as server:
                if smtp.starttls:
                    server.starttls()
                if smtp.user and smtp.password:
                    server.login(smtp.user, smtp.password)
                server.send_message(msg)
        except smtplib.SMTPRecipientsRefused:
            return SendResult.failed("recipients refused")
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                return SendResult.failed(f"smtp {exc.smtp_code}")
            return SendResult.retry(f"smtp {exc.smtp_code}")
        except (OSError, smtplib.SMTPException) as exc:
            return SendResult.retry(type(exc).__name__)
        return SendResult.sent()

    return send
