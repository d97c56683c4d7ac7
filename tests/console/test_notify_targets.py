"""Staff notifications to the duty rota and managers: email, SMS (Twilio), Telegram chats."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot import notify
from bot.app import assemble
from bot.errors import ConfigError
from bot.models import Case, OutboxMessage, utcnow
from bot.org import load_organisation
from bot.outbox import LEASE, Outbox
from bot.rota import on_duty
from bot.services import build_services
from bot.settings import DEMO_ORG_FILE
from bot.sla import WorkingCalendar
from bot.worker import build_outbox
from tests.channels.fake_telegram import FakeBotApi
from tests.channels.telegram_support import SECRET, TOKEN
from tests.channels.twilio_support import SMS_FROM, fake_twilio, twilio_env
from tests.conftest import make_settings
from tests.console.conftest import NARRATIVE, console_env, login, post_form, report

LONDON = ZoneInfo("Europe/London")
INBOX, DANA, RHYS = "Safer neighbourhoods team inbox", "Dana Fictional", "Rhys Example"
NIGHT, WEEKEND = "Out-of-hours duty phone", "Weekend and bank holiday day phone"
STAFF_CHAT = "-1001234567890"
STAFF_CHANNELS = ("staff_email", "staff_sms", "staff_telegram")
RESIDENT = "+447700900123"
# What the staff form's reporter says; none of it may reach a notification.
SECRETS = (NARRATIVE, "Sam Fictional", "07700 900456", "Larkspur Court", "Pat Example",
           "07700 900123", RESIDENT, "Fictional: someone sprayed abuse", "Example House")


def _org_text(rota: str | None = None) -> str:
    """Return the demo landlord in English, with its own rota or `rota` instead."""
    text = re.sub(r"^languages = .*$", 'languages = ["en"]', DEMO_ORG_FILE.read_text(),
                  flags=re.M)
    if rota is not None:
        text = text[:text.index("[[duty_rota]]")] + rota
    return text


def _load(tmp_path, text: str):
    path = tmp_path / "org-test.toml"
    path.write_text(text, encoding="utf-8")
    return load_organisation(path)


def _names(org, local: datetime) -> list[str]:
    calendar = WorkingCalendar(org.working_hours)
    return [e.name for e in on_duty(org.duty_rota, local.replace(tzinfo=LONDON), calendar)]


# ---- who is on duty --------------------------------------------------------------------

@pytest.mark.parametrize("local, expected", [
    (datetime(2026, 11, 18, 10, 0), [INBOX, DANA]),  # a Wednesday morning
    (datetime(2026, 11, 18, 9, 0), [INBOX, DANA]),
    (datetime(2026, 11, 18, 8, 59), [INBOX, NIGHT]),  # Tuesday night's shift
    (datetime(2026, 11, 18, 17, 0), [INBOX, NIGHT]),
    (datetime(2026, 11, 19, 12, 0), [INBOX, RHYS]),  # Thursday
    (datetime(2026, 11, 21, 12, 0), [INBOX, WEEKEND]),  # Saturday
    (datetime(2026, 11, 21, 23, 40), [INBOX, NIGHT]),
    (datetime(2026, 11, 23, 3, 0), [INBOX, NIGHT]),  # Monday small hours
    (datetime(2026, 8, 31, 10, 0), [INBOX, WEEKEND]),  # August bank holiday: not Dana
    (datetime(2026, 8, 31, 20, 0), [INBOX, NIGHT]),
    (datetime(2026, 9, 1, 10, 0), [INBOX, DANA]),
])
def test_demo_rota_on_duty(local, expected):
    assert _names(load_organisation(DEMO_ORG_FILE), local) == expected


def test_rota_is_read_in_the_landlords_time_zone():
    org = load_organisation(DEMO_ORG_FILE)
    calendar = WorkingCalendar(org.working_hours)
    summer = datetime(2026, 6, 17, 8, 30, tzinfo=UTC)  # 09:30 in London (BST)
    assert [e.name for e in on_duty(org.duty_rota, summer, calendar)] == [INBOX, DANA]


def test_bank_holiday_is_its_weekday_when_no_entry_names_bank_holidays(tmp_path):
    org = _load(tmp_path, _org_text('[[duty_rota]]\nname = "Dana"\ndays = ["mon"]\n'
                                    'sms = "+447700900301"\n'))
    assert _names(org, datetime(2026, 8, 31, 10, 0)) == ["Dana"]


def test_an_overnight_shift_after_a_bank_holiday_leaves_no_gap(tmp_path):
    org = _load(tmp_path, _org_text(
        '[[duty_rota]]\nname = "Nights"\ndays = ["mon", "tue", "wed", "thu", "fri"]\n'
        'from = "17:00"\nuntil = "09:00"\nsms = "+447700900303"\n\n'
        '[[duty_rota]]\nname = "Holiday"\ndays = ["bank_holiday"]\nsms = "+447700900304"\n'))
    assert _names(org, datetime(2026, 8, 31, 20, 0)) == ["Holiday"]  # bank holiday night
    assert _names(org, datetime(2026, 9, 1, 3, 0)) == ["Nights"]  # the morning after
    assert _names(org, datetime(2026, 8, 29, 3, 0)) == ["Nights"]  # Friday night's shift
    assert _names(org, datetime(2026, 8, 30, 3, 0)) == []  # Saturday night: nobody


def _services_with(tmp_path, smtp, org_text: str | None):
    extra = console_env(smtp.port)
    if org_text is not None:
        org_file = tmp_path / "org-custom.toml"
        org_file.write_text(org_text, encoding="utf-8")
        extra["REPORTBOT_ORG_FILE"] = str(org_file)
    return build_services(make_settings(tmp_path, **extra))


def test_a_gap_in_the_rota_falls_back_to_the_duty_emails(tmp_path, smtp):
    services = _services_with(tmp_path, smtp, _org_text(
        '[[duty_rota]]\nname = "Dana"\ndays = ["mon"]\nfrom = "09:00"\nuntil = "17:00"\n'
        'sms = "+447700900301"\n'))
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)
    assert notify.duty_targets(services, monday) == [("sms", "+447700900301")]
    assert notify.duty_targets(services, monday + timedelta(days=1)) == [
        ("email", "duty@larkspur-homes.example")]
    assert notify.manager_targets(services) == [("email", "managers@larkspur-homes.example")]


def test_without_a_rota_the_environment_decides(tmp_path, smtp):
    services = _services_with(tmp_path, smtp, None)  # the shared fixtures' landlord
    assert services.org.duty_rota == () and services.org.managers == ()
    assert notify.duty_targets(services, utcnow()) == [("email", "duty@larkspur-homes.example")]
    assert notify.manager_targets(services) == [("email", "managers@larkspur-homes.example")]


# ---- the organisation file -------------------------------------------------------------

@pytest.mark.parametrize("rota, message", [
    ('[[duty_rota]]\nname = "X"\n', "duty_rota[1]: needs at least one of email, sms"),
    ('[[duty_rota]]\nname = "X"\nsms = "07700 900123"\n', "duty_rota[1].sms: expected a "
                                                          "number in E.164"),
    ('[[duty_rota]]\nname = "X"\nsms = "+44 7700 900123"\n', "duty_rota[1].sms: expected"),
    ('[[duty_rota]]\nname = "X"\nsms = "+44"\n', "duty_rota[1].sms: expected"),
    ('[[duty_rota]]\nname = "X"\nemail = "duty"\n', "duty_rota[1].email: not an email"),
    ('[[duty_rota]]\nname = "X"\ntelegram_chat_id = "@staff"\n',
     "duty_rota[1].telegram_chat_id: expected a numeric chat id"),
    ('[[duty_rota]]\nname = "X"\ntelegram_chat_id = true\n',
     "duty_rota[1].telegram_chat_id: expected"),
    ('[[duty_rota]]\nname = "X"\nemail = "a@b.example"\ndays = ["monday"]\n',
     "duty_rota[1].days: expected a list"),
    ('[[duty_rota]]\nname = "X"\nemail = "a@b.example"\ndays = []\n',
     "duty_rota[1].days: expected a list"),
    ('[[duty_rota]]\nname = "X"\nemail = "a@b.example"\nfrom = "25:00"\n',
     "duty_rota[1].from: expected a time"),
    ('[[duty_rota]]\nname = "X"\nemail = "a@b.example"\nfrom = "09:00"\nuntil = "09:00"\n',
     "duty_rota[1].until: same as from"),
    ('[[duty_rota]]\nname = "X"\nemail = "a@b.example"\ncolour = "red"\n',
     "duty_rota[1].colour: unknown setting"),
    ('[[duty_rota]]\nname = "X"\nemail = "a@b.example"\n\n[[duty_rota]]\n'
     'email = "c@d.example"\n', "duty_rota[2].name: required"),
    ('[[managers]]\nname = "M"\nemail = "m@b.example"\ndays = ["mon"]\n',
     "managers[1].days: unknown setting"),
    ('[[managers]]\nname = "M"\n', "managers[1]: needs at least one of"),
])
def test_org_file_errors_name_the_bad_key(tmp_path, rota, message):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, _org_text(rota))
    assert str(info.value).startswith(message), str(info.value)


# ---- delivery through the outbox -------------------------------------------------------

@pytest.fixture
def twilio():
    with fake_twilio() as fake:
        yield fake


@pytest.fixture
def telegram():
    server = FakeBotApi(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def settings(db_url, tmp_path, smtp, twilio, telegram):
    """The demo landlord with its rota; email, Twilio and Telegram on local fakes."""
    url = db_url
    org_file = tmp_path / "org-rota.toml"
    org_file.write_text(_org_text(), encoding="utf-8")
    env = {**console_env(smtp.port), **twilio_env(TWILIO_API_BASE_URL=twilio.url),
           "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
           "TELEGRAM_API_BASE_URL": telegram.url,
           "REPORTBOT_ORG_FILE": str(org_file)}
    return make_settings(tmp_path, url, **env)


def _rows(services, *channels: str) -> list[OutboxMessage]:
    with services.db.read() as session:
        return session.scalars(select(OutboxMessage).where(
            OutboxMessage.channel.in_(channels or STAFF_CHANNELS))
            .order_by(OutboxMessage.id)).all()


def _staff_outbox(services) -> Outbox:
    senders = {kind: send for kind, send in build_outbox(assemble(services)).senders.items()
               if kind in STAFF_CHANNELS}
    return Outbox(services, senders)


def _staff_report(client, local: str) -> str:
    """Enter a hate-related phone report received at `local` (London); return its reference."""
    login(client, "duty1")
    response = post_form(client, "/console/reports/new", "/console/reports/new", {
        "channel": "phone", "received_at": local, "reporter_role": "witness",
        "anonymous": "named", "reporter_name": "Pat Example", "contact_method": "phone",
        "contact_details": "07700 900123", "leave_message": "no",
        "narrative": "Fictional: someone sprayed abuse on the lift door.",
        "incident_types": ["graffiti"], "location_type": "communal",
        "location": "Lift, Example House", "perception": "yes", "strands": ["religion"],
        "perceived_by": ["reporter"]})
    assert response.status_code == 302
    return response.headers["Location"].rsplit("/", 1)[1]


def _no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


@pytest.mark.parametrize("local, number", [
    ("2026-11-18T10:00", "+447700900301"),  # Wednesday morning: Dana
    ("2026-11-21T23:40", "+447700900303"),  # Saturday night: the out-of-hours phone
])
def test_staff_entered_report_reaches_the_rota_on_every_channel(
        client, services, staff, smtp, twilio, telegram, local, number):
    reference = _staff_report(client, local)
    rows = _rows(services)
    assert sorted(r.channel for r in rows) == sorted(STAFF_CHANNELS)
    assert all(r.kind == "staff_alert" for r in rows)
    assert _staff_outbox(services).run_once() == 3
    assert [r.status for r in _rows(services)] == ["sent"] * 3
    link = f"https://reportbot.example.org/console/cases/{reference}"
    [sms] = twilio.created
    assert sms["To"] == number and sms["From"] == SMS_FROM
    assert sms["Body"] == (f"Reportbot: case {reference} (high priority, hate-related) needs "
                           f"a duty officer. {link}")
    [chat] = telegram.sent_texts(STAFF_CHAT)
    assert chat == sms["Body"]
    [(_envelope, mail)] = smtp.received
    assert mail["To"] == "duty@larkspur-homes.example"
    assert reference in mail["Subject"] and link in mail.get_payload()
    _no_secrets(sms["Body"], chat, mail["Subject"], mail.get_payload())


def test_chat_report_reaches_whoever_is_on_duty_and_never_the_resident(
        services, twilio, telegram, smtp):
    reference = report(services, sender=RESIDENT)
    with services.db.read() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
    expected = notify.duty_targets(services, case.received_at)
    assert [kind for kind, _a in expected] == ["email", "telegram", "sms"]
    _staff_outbox(services).run_once()
    staff_numbers = {"+447700900301", "+447700900302", "+447700900303", "+447700900304"}
    assert [m["To"] for m in twilio.created] == [expected[2][1]]
    assert twilio.created[0]["To"] in staff_numbers
    payloads = [services.vault.open_json(r.payload_enc) for r in _rows(services)]
    _no_secrets(*(str(p) for p in payloads), *(m["Body"] for m in twilio.created),
                *telegram.sent_texts(), *(m.get_payload() for _e, m in smtp.received))


def test_enqueueing_twice_makes_one_row_per_target(services):
    report(services)
    before = [(r.channel, r.dedupe_key) for r in _rows(services)]
    assert len(before) == 3
    with services.db.write() as session:
        case = session.scalar(select(Case))
        assert notify.case_created(session, services, case) is False
    assert [(r.channel, r.dedupe_key) for r in _rows(services)] == before


def test_crash_before_the_sms_went_sends_it_once_later(services, twilio):
    report(services)
    outbox = _staff_outbox(services)
    # This worker claims everything, then dies without sending anything.
    [claimed] = [e for e in outbox.claim() if e.channel == "staff_sms"]
    assert [e for e in outbox.claim() if e.channel == "staff_sms"] == []
    later = utcnow() + LEASE + timedelta(seconds=1)
    again = outbox.claim(now=later)
    assert claimed.id in [e.id for e in again] and len(again) == 3
    for envelope in again:
        assert outbox.deliver(envelope).status == "sent"
    outbox.run_once()
    assert outbox.claim(now=later + LEASE * 2) == []
    assert len(twilio.created) == 1


def test_provider_errors_are_retried_and_the_message_goes_once(services, twilio, telegram):
    report(services)
    twilio.reply_with(500, "error_20500.json")
    telegram.fail_next("sendMessage", "429", retry_after=2)
    outbox = _staff_outbox(services)
    outbox.run_once()
    pending = {r.channel: r for r in _rows(services, "staff_sms", "staff_telegram")}
    assert {r.status for r in pending.values()} == {"pending"}
    assert pending["staff_telegram"].next_attempt_at > utcnow()
    assert outbox.run_once() == 0  # nothing is due yet
    later = utcnow() + timedelta(hours=2)
    for envelope in outbox.claim(now=later):
        outbox.deliver(envelope)
    assert {r.status for r in _rows(services)} == {"sent"}
    assert len(twilio.created) == 2  # the refused attempt and the one that went
    assert len(telegram.sent_texts(STAFF_CHAT)) == 1


def test_staff_senders_refuse_anyone_not_in_the_organisation_file(services, twilio, telegram):
    with services.db.write() as session:
        notify.enqueue(session, services.vault, kind="staff_alert", channel="staff_sms",
                       payload={"to": RESIDENT, "text": "x"}, dedupe_key="forged:sms")
        notify.enqueue(session, services.vault, kind="staff_alert", channel="staff_telegram",
                       payload={"chat_id": "700000123", "text": "x"},
                       dedupe_key="forged:telegram")
    assert _staff_outbox(services).run_once() == 2
    assert {r.status for r in _rows(services)} == {"failed"}
    assert twilio.created == [] and telegram.calls_of("sendMessage") == []


def test_escalation_reaches_the_managers_by_email_and_sms(services, twilio, smtp):
    reference = report(services)
    with services.db.read() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
    overdue = case.first_contact_due + timedelta(minutes=1)
    assert notify.escalate(services, now=overdue) == 2
    assert notify.escalate(services, now=overdue) == 0
    rows = [r for r in _rows(services) if r.kind == "deadline_alert"]
    assert sorted(r.channel for r in rows) == ["staff_email", "staff_sms"]
    _staff_outbox(services).run_once()
    [sms] = [m for m in twilio.created if m["To"] == "+447700900310"]
    assert sms["Body"].startswith(f"Reportbot: case {reference} (high priority, "
                                  f"hate-related): first contact deadline overdue.")
    _no_secrets(sms["Body"])
