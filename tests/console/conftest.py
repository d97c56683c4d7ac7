"""Console fixtures: cheap argon2, staff of every role, a local SMTP server, sample cases."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from bot.console.auth import create_user
from bot.db import Database, upgrade_database
from bot.services import Services, build_services
from bot.settings import Settings
from tests.channels.twilio_support import twilio_env
from tests.conftest import make_settings
from tests.console.smtp_fake import FakeSMTP
from tests.helpers import VICTIM_DETAILS, VICTIM_REPORT, Resident

PASSWORD = "correct horse battery staple"
ROLES = {"duty1": "duty_officer", "duty2": "duty_officer", "cm": "case_manager",
         "boss": "manager", "analyst": "analyst", "admin": "admin"}
CHEAP_ARGON2 = {"REPORTBOT_ARGON2_TIME_COST": "1", "REPORTBOT_ARGON2_MEMORY_COST": "64",
                "REPORTBOT_ARGON2_PARALLELISM": "1"}
NARRATIVE = VICTIM_REPORT[4][0]


def console_env(smtp_port: int) -> dict[str, str]:
    """Return the environment a console test runs with."""
    return {
        **CHEAP_ARGON2,
        "REPORTBOT_SMTP_HOST": "127.0.0.1",
        "REPORTBOT_SMTP_PORT": str(smtp_port),
        "REPORTBOT_SMTP_FROM": "reportbot@larkspur-homes.example",
        "REPORTBOT_DUTY_EMAILS": "duty@larkspur-homes.example",
        "REPORTBOT_MANAGER_EMAILS": "managers@larkspur-homes.example",
        "REPORTBOT_REPAIRS_EMAIL": "repairs@larkspur-homes.example",
        "REPORTBOT_PUBLIC_URL": "http://127.0.0.1",
    }


@pytest.fixture
def smtp() -> Iterator[FakeSMTP]:
    with FakeSMTP() as server:
        yield server


@pytest.fixture
def settings(tmp_path, smtp) -> Settings:
    # Twilio is configured (nothing is sent to it here) so that SMS cases can be messaged.
    return make_settings(tmp_path, **{**twilio_env(), **console_env(smtp.port)})


@pytest.fixture
def staff(services: Services) -> dict[str, str]:
    """Create one account per entry of ROLES; returns username -> role."""
    add_staff(services)
    return ROLES


def add_staff(services: Services) -> None:
    """Create the ROLES accounts."""
    with services.db.write() as session:
        for username, role in ROLES.items():
            create_user(session, services, username, role, PASSWORD,
                        display_name=username.title())


def report(services: Services, channel: str = "sms", narrative: str | None = None,
           sender: str | None = None, details: bool = True) -> str:
    """Make the victim's report through the real conversation runner; return its reference.

    With `details` the resident also gives every optional detail after the acknowledgement.
    """
    transcript = list(VICTIM_REPORT)
    if narrative is not None:
        transcript[4] = (narrative, transcript[4][1])
    resident = Resident(services, channel=channel, sender=sender)
    resident.follow(transcript)
    match = re.search(r"[2-9A-Y]{5}-[2-9A-Y]{5}", resident.said)
    assert match, resident.said
    if details:
        resident.follow(VICTIM_DETAILS)
    return match.group(0)


def csrf_from(html: str) -> str:
    """Return the first CSRF token in a page."""
    match = re.search(r'name="(?:[a-z]+-)?csrf_token" type="hidden" value="([^"]+)"', html) \
        or re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    """Sign in through the login form; returns the response."""
    page = client.get("/console/login")
    return client.post("/console/login", data={
        "username": username, "password": password, "csrf_token": csrf_from(page.text)})


def post_form(client, url: str, page_url: str, data: dict, prefix: str | None = None):
    """POST a console form with a CSRF token taken from `page_url`."""
    token = csrf_from(client.get(page_url).text)
    key = f"{prefix}-csrf_token" if prefix else "csrf_token"
    return client.post(url, data={key: token, **data})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_console(request, tmp_path, smtp) -> Iterator[Services]:
    """Console services with the ROLES staff, on SQLite and (when configured) PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'instance' / 'reportbot.sqlite'}"
    else:
        url = request.getfixturevalue("pg_url")
    upgrade_database(url)
    built = build_services(make_settings(tmp_path, url, **console_env(smtp.port)),
                           db=Database(url))
    add_staff(built)
    yield built
    built.db.dispose()
