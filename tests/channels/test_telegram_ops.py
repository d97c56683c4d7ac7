"""Telegram operations: long polling, the CLI, and two gunicorn workers sharing one chat."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.app import assemble
from bot.cli import main
from bot.db import Database
from bot.models import Case, Conversation, InboundMessage, OutboxMessage, TelegramCursor
from bot.services import build_services
from channels.telegram.cli import run_poll
from tests.channels.fake_telegram import FakeBotApi
from tests.channels.telegram_support import HEADER, SECRET, TOKEN, TelegramResident
from tests.conftest import TEST_SECRET, english_only_org, make_settings
from tests.databases import migrated
from tests.helpers import VICTIM_REPORT
from tests.served import REPORTBOT, free_port, start


@pytest.fixture
def fake():
    server = FakeBotApi(TOKEN).start()
    yield server
    server.stop()


def _env(tmp_path: Path, fake: FakeBotApi, database_url: str | None = None) -> dict:
    return {
        "REPORTBOT_INSTANCE_DIR": str(tmp_path / "instance"),
        "REPORTBOT_DATABASE_URL": database_url
        or f"sqlite:///{tmp_path / 'instance' / 'reportbot.sqlite'}",
        "REPORTBOT_SECRET_KEY": TEST_SECRET,
        "REPORTBOT_ORG_FILE": str(english_only_org(tmp_path)),
        "REPORTBOT_PUBLIC_URL": "https://reports.larkspur.example",
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": fake.url,
    }


def test_poll_feeds_the_same_pipeline_and_resumes_after_a_restart(tmp_path, fake):
    settings = make_settings(tmp_path, **{k: v for k, v in _env(tmp_path, fake).items()
                                           if k.startswith("TELEGRAM_")})
    migrated(settings.database_url)
    services = build_services(settings)
    channel = assemble(services).channels.get("telegram")
    config = channel.config
    resident = TelegramResident(fake.updates.append, fake)
    resident.start()
    resident.says("no")
    assert run_poll(channel, timeout=1, stop_after=1.5) == 2
    texts = resident.texts()
    assert "999" in texts[0] and len(texts) == 3
    with services.db.read() as session:
        cursor = session.get(TelegramCursor, config.bot.bot_id)
    assert cursor.next_offset == fake.updates[-1]["update_id"] + 1
    # A restarted poller asks from the saved offset: nothing is handled twice.
    assert run_poll(channel, timeout=1, stop_after=1.2) == 0
    assert resident.texts() == texts
    assert fake.calls_of("getUpdates")[-1]["offset"] == str(cursor.next_offset)
    services.db.dispose()


def test_cli_sets_the_webhook_and_shows_its_info_without_the_token(tmp_path, fake,
                                                                   monkeypatch):
    for key, value in _env(tmp_path, fake).items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    result = runner.invoke(main, ["telegram", "set-webhook"])
    assert result.exit_code == 0, result.output
    [call] = fake.calls_of("setWebhook")
    assert call["url"] == "https://reports.larkspur.example/webhooks/telegram"
    assert call["secret_token"] == SECRET
    assert call["allowed_updates"] == ["message", "edited_message", "callback_query",
                                      "my_chat_member"]
    result = runner.invoke(main, ["telegram", "info"])
    assert result.exit_code == 0, result.output
    assert "reports.larkspur.example/webhooks/telegram" in result.output
    assert TOKEN not in result.output and TOKEN.split(":")[1] not in result.output


# ---- two gunicorn workers ---------------------------------------------------------------

def test_two_gunicorn_workers_serve_one_conversation(tmp_path, fake, db_url):
    database_url = db_url
    port = free_port()
    server = start([REPORTBOT, "serve", "--workers", "2", "--port", str(port)],
                   _env(tmp_path, fake, database_url), port, capture=True)
    try:
        http = httpx.Client(base_url=server.url, timeout=30)

        def post(update: dict) -> None:
            response = http.post("/webhooks/telegram", json=update, headers={HEADER: SECRET})
            assert response.status_code == 200, response.text

        residents = [TelegramResident(post, fake, chat_id=700000123 + i) for i in range(2)]
        errors: list[BaseException] = []

        def report(resident: TelegramResident) -> None:
            try:
                resident.start()
                for message, _ in VICTIM_REPORT:
                    text = message if isinstance(message, str) else message[0]
                    update = resident.message_update(text)
                    resident.post(update)
                    resident.post(update)  # a redelivery, possibly to the other worker
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
                errors.append(exc)

        threads = [threading.Thread(target=report, args=(r,)) for r in residents]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors, errors
        http.close()
    finally:
        output = server.stop()
    assert TOKEN.split(":")[1] not in output
    # Both worker processes talked to the Bot API (each initialises its Bot once).
    assert len(fake.calls_of("getMe")) == 2
    settings = make_settings(tmp_path, database_url)
    db = Database(database_url)
    services = build_services(settings, db=db)
    with db.read() as session:
        cases = session.scalars(select(Case)).all()
        assert len(cases) == 2 and {c.channel for c in cases} == {"telegram"}
        turns = session.scalar(select(func.count()).select_from(InboundMessage))
        assert turns == 2 * (len(VICTIM_REPORT) + 1)
        assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status != "sent")) == 0
        assert session.scalar(select(func.count()).select_from(Conversation)) == 2
    for resident in residents:
        texts = resident.texts()
        # One outbox row per update, each sent once: no duplicate messages.
        assert len(fake.calls_of("sendMessage")) == len(fake.sent_texts())
        refs = [c.reference for c in cases if any(c.reference in t for t in texts)]
        assert len(refs) == 1
        assert sum(1 for t in texts if refs[0] in t and "reference" in t.lower()) == 1
    services.db.dispose()
