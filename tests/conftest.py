"""Shared fixtures: real databases (a SQLite file per test, a PostgreSQL database per test,
each a copy of a migrated template: tests/databases.py), the demo landlord, a free port,
and the application built exactly as `reportbot serve` builds it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import create_app
from bot.db import Database
from bot.services import Services, build_services
from bot.settings import DEMO_ORG_FILE, Settings
from bot.store import create_api_token
from tests.databases import drop_pg_database, migrated, new_pg_database
from tests.served import free_port

TEST_SECRET = "test-secret-key-not-for-production-0123456789abcdef"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def english_only_org(tmp_path: Path) -> Path:
    """Write the demo landlord with English only (no language menu before the first
    question), for tests about something other than languages."""
    path = tmp_path / "org-en.toml"
    if not path.exists():
        text = re.sub(r"^languages = .*$", 'languages = ["en"]', DEMO_ORG_FILE.read_text(),
                      flags=re.M)
        # Nor a duty rota: staff SMS and Telegram alerts would mix with the resident's
        # messages; tests of staff notifications load the demo rota themselves.
        text = re.sub(r"^\[\[(duty_rota|managers)\]\]\n(?:[^\[\n].*\n|\n)*", "", text,
                      flags=re.M)
        path.write_text(text, encoding="utf-8")
    return path


def make_settings(tmp_path: Path, database_url: str | None = None, **extra: str) -> Settings:
    """Return settings for a test: its own instance folder, database and fixed key."""
    env = {
        "REPORTBOT_INSTANCE_DIR": str(tmp_path / "instance"),
        "REPORTBOT_DATABASE_URL": database_url
        or f"sqlite:///{tmp_path / 'instance' / 'reportbot.sqlite'}",
        "REPORTBOT_SECRET_KEY": TEST_SECRET,
        "REPORTBOT_ORG_FILE": str(english_only_org(tmp_path)),
        # A cheap argon2 profile: every report hashes a follow-up code (issue 15).
        "REPORTBOT_ARGON2_TIME_COST": "1", "REPORTBOT_ARGON2_MEMORY_COST": "64",
        "REPORTBOT_ARGON2_PARALLELISM": "1",
        # Tests play whole conversations in a moment; the limits' own tests set these low.
        "REPORTBOT_WEBCHAT_SESSIONS_PER_HOUR": "100000",
        "REPORTBOT_WEBCHAT_MESSAGES_PER_MINUTE": "100000",
        "TELEGRAM_RATE_LIMIT_PER_MINUTE": "100000",
        **extra,
    }
    return Settings.from_env(env)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    migrated(settings.database_url)
    built = build_services(settings)
    yield built
    built.db.dispose()


@pytest.fixture
def app(services: Services):
    return create_app(services=services)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api_token(services: Services) -> str:
    with services.db.write() as session:
        return create_api_token(session, "tests")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A migrated PostgreSQL database for one test; fails (not skips) if the server is down."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    url = new_pg_database(PG_URL)
    try:
        yield url
    finally:
        drop_pg_database(PG_URL, url)


@pytest.fixture
def blank_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database (no schema yet), for tests of the migrations."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    url = new_pg_database(PG_URL, blank=True)
    try:
        yield url
    finally:
        drop_pg_database(PG_URL, url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path: Path) -> str:
    """A migrated database on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL."""
    if request.param == "sqlite":
        return migrated(f"sqlite:///{tmp_path / 'instance' / 'reportbot.sqlite'}")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def any_services(db_url: str, tmp_path: Path) -> Iterator[Services]:
    """Services on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL too."""
    built = build_services(make_settings(tmp_path, db_url), db=Database(db_url))
    yield built
    built.db.dispose()


@pytest.fixture
def port() -> int:
    """A free TCP port on the loopback interface."""
    return free_port()
