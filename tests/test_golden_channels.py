"""Golden conversations: every enabled language on every channel, the essentials to the
acknowledgement and then every optional detail, then the follow-up menu and the report's
status on writing again, typed the way a resident on a basic phone
would (numbers and words, a free-text question skipped by its number), with no English
leaking into a non-English conversation and nothing asking for opt-out words."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from bot.app import assemble, create_app
from bot.models import Case
from bot.org import load_organisation
from bot.services import build_services
from bot.settings import DEMO_ORG_FILE
from flows.acknowledgement import isolate
from flows.followup import STAGES
from tests.channels.fake_telegram import FakeBotApi
from tests.channels.telegram_support import TOKEN, TelegramResident, telegram_env
from tests.channels.test_telegram import webhook_poster
from tests.channels.test_webchat import WebchatResident
from tests.channels.twilio_support import TwilioResident, twilio_env
from tests.conftest import make_settings
from tests.databases import migrated
from tests.test_languages import ALL, _english_sentences, multilingual_org

CHANNELS = ["webchat", "terminal", "sms", "whatsapp", "telegram"]
REPLY_CHANNELS = {"sms", "whatsapp", "telegram"}


def transcript(channel: str) -> list[str]:
    """The victim's report typed as numbers and fictional words, after the language menu."""
    phone = "2" if channel in REPLY_CHANNELS else "1"  # "Message me here" comes first there
    essentials = [
        "2", "1", "1", "Sam Fictional", "Fictional account 42.", "2", "2", "Block B 7", "1",
        "1 2", "1", "1", phone, "07700 900456", "2", "1",
    ]
    details = [
        # "1" at the safe-times question is its "1. Skip this question" (issue 12).
        "1", "1 2", "1", "Flat 9", "1 3", "CR/0000/26", "1", "1", "1", "4", "1",
        "2", "1", "1", "2", "4", "1", "2", "1", "1",
    ]
    return essentials + details


class _TerminalResident:
    def __init__(self, services) -> None:
        self.terminal = assemble(services).channels.get("terminal")
        self.runner = self.terminal.ports.runner

    def start(self) -> list[str]:
        return [self.terminal.render(self.runner.open("terminal",
                                                      self.terminal.sender).replies)]

    def says(self, text: str) -> list[str]:
        return [self.terminal.render(self.runner.handle(self.terminal.parse(text)).replies)]


@pytest.fixture
def fake_telegram():
    server = FakeBotApi(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def golden(tmp_path, fake_telegram):
    settings = make_settings(tmp_path, REPORTBOT_ORG_FILE=str(multilingual_org(tmp_path)),
                             **twilio_env(TWILIO_RATE_LIMIT_PER_MINUTE="100"),
                             **telegram_env(fake_telegram))
    migrated(settings.database_url)
    services = build_services(settings)
    yield services, create_app(services=services)
    services.db.dispose()


def _resident(channel: str, services, app, fake, language: str):
    client = app.test_client()
    if channel == "webchat":
        return WebchatResident(client)
    if channel == "terminal":
        return _TerminalResident(services)
    if channel in ("sms", "whatsapp"):
        return TwilioResident(client, channel=channel)
    return TelegramResident(webhook_poster(client), fake, language=language)


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("language", ALL)
def test_full_report_in_every_language_on_every_channel(golden, fake_telegram, channel,
                                                       language):
    services, app = golden
    resident = _resident(channel, services, app, fake_telegram, language)
    opening = resident.start()  # in the guessed language (English when there is no hint)
    # Telegram offers the resident's own language first; elsewhere the configured order.
    position = 1 if channel == "telegram" else ALL.index(language) + 1
    seen = resident.says(str(position))
    for typed in transcript(channel):
        seen += resident.says(typed)
    # Writing again follows the report up: the menu, then "How is my report going?" (4).
    menu = resident.says("x")
    status = resident.says("4")
    seen += menu + status
    with services.db.read() as session:
        [case] = session.scalars(select(Case)).all()
    t = services.catalogs(language)
    asked = t.gettext("What would you like to do about your report %(reference)s?") \
        % {"reference": isolate(case.reference, language)}
    assert asked in "\n".join(menu)
    assert t.gettext(STAGES["received"]) in "\n".join(status)
    assert case.language == language and case.channel == channel
    assert case.hate_related and case.strands == ["ethnic_origin", "religion"]
    assert case.incident_types == ["name_calling", "threats"]
    assert case.answers["evidence"] == ["photos", "police"]
    details = services.store.details(case)
    assert details["police_reference"] == "CR/0000/26"
    assert "safe_times" not in details  # skipped by its number, never stored as "1"
    assert details["contact_details"] == "07700 900456"
    assert details["monitoring_gender_identity"] == "yes"
    text = "\n".join(seen)
    if channel == "telegram":
        text += "\n".join(json.dumps(c.get("reply_markup", ""), ensure_ascii=False)
                          for c in fake_telegram.calls_of("sendMessage"))
    plain = text.replace("\u2068", "").replace("\u2069", "")
    assert case.reference in plain
    for word in ("STOP", "END", "QUIT", "CANCEL", "UNSUBSCRIBE"):
        assert not re.search(rf"\b{word}\b", plain), word
    assert opening and all(part.strip() for part in opening)
    if language != "en":
        leaks = [s for s in _english_sentences(language) if s in plain]
        assert leaks == [], f"English in {language} on {channel}: {leaks[:4]}"


def test_the_golden_runs_cover_exactly_what_the_demo_landlord_serves():
    # The golden runs enable every catalogued language; `make run` serves the demo
    # landlord's. A catalog added without enabling it (or the reverse) fails here.
    served = set(load_organisation(DEMO_ORG_FILE).languages)
    assert served == set(ALL), sorted(served ^ set(ALL))
    assert len(ALL) >= 13
