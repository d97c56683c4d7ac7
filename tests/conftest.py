"""Shared fixtures: real databases (a SQLite file per test, a PostgreSQL schema per test),
the demo landlord, and the application built exactly as `reportbot serve` builds it."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.app import create_app
from bot.db import Database, upgrade_database
from bot.services import Services, build_services
from bot.settings import DEMO_ORG_FILE, Settings
from bot.store import create_api_token

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
        **extra,
    }
    return Settings.from_env(env)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    upgrade_database(settings.database_url)
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


def _pg_schema_url(schema: str) -> str:
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test; fails (not skips) if the server is down."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_services(request, tmp_path: Path) -> Iterator[Services]:
    """Services on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL too."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'instance' / 'reportbot.sqlite'}"
    else:
        url = request.getfixturevalue("pg_url")
    built_settings = make_settings(tmp_path, url)
    upgrade_database(url)
    built = build_services(built_settings, db=Database(url))
    yield built
    built.db.dispose()
