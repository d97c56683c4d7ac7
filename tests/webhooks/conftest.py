"""Webhook fixtures: receivers on loopback, an organisation file naming them, and a
worker's outbox whose clock tests can move forward (as hours pass for a real worker)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot import webhooks, worker
from bot.app import assemble
from bot.db import Database
from bot.models import utcnow
from bot.outbox import Outbox
from bot.services import Services, build_services
from tests.conftest import english_only_org, make_settings
from tests.webhooks.receiver import Receiver

# Fictional secrets, fixed so that a failure can be replayed by hand.
ASB_SECRET = "whsec_" + base64.b64encode(b"asb-fictional-secret-32-bytes!!!").decode()
CRM_SECRET = "whsec_" + base64.b64encode(b"crm-fictional-secret-32-bytes!!!").decode()


def org_with_webhooks(tmp_path: Path, hooks: str) -> Path:
    """Write the English-only demo landlord with the `[[webhooks]]` tables in `hooks`."""
    path = tmp_path / "org-webhooks.toml"
    path.write_text(english_only_org(tmp_path).read_text(encoding="utf-8") + "\n" + hooks,
                    encoding="utf-8")
    return path


def hook(name: str, receiver: Receiver, **extra) -> str:
    """Return one `[[webhooks]]` table pointing at `receiver`."""
    lines = [f'name = "{name}"', f'url = "{receiver.url}"', f'secret = "{receiver.secret}"']
    for key, value in extra.items():
        lines.append(f"{key} = {value}")
    return "[[webhooks]]\n" + "\n".join(lines) + "\n"


class Clock:
    """Time as the worker sees it: real time plus however far a test moved it."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def now(self) -> datetime:
        return utcnow() + self.ahead

    def monotonic(self) -> float:
        return time.monotonic() + self.ahead.total_seconds()

    def advance(self, **delta: float) -> None:
        self.ahead += timedelta(**delta)


class Worker:
    """The worker's outbox (bot/worker.py `build_outbox`), driven by a test's clock."""

    def __init__(self, services: Services, clock: Clock) -> None:
        self.clock = clock
        self.outbox: Outbox = worker.build_outbox(assemble(services))
        sender = self.outbox.senders[webhooks.CHANNEL]
        sender.clock = clock.monotonic

    def run(self, rounds: int = 100) -> int:
        """Deliver whatever is due now (by the clock) until nothing is; return attempts."""
        attempts = 0
        for _ in range(rounds):
            envelopes = self.outbox.claim(now=self.clock.now())
            if not envelopes:
                break
            for envelope in envelopes:
                self.outbox.deliver(envelope)
            attempts += len(envelopes)
        return attempts


@pytest.fixture
def asb() -> Iterator[Receiver]:
    receiver = Receiver(ASB_SECRET)
    yield receiver
    receiver.stop()


@pytest.fixture
def crm() -> Iterator[Receiver]:
    receiver = Receiver(CRM_SECRET)
    yield receiver
    receiver.stop()


@pytest.fixture
def hooked(tmp_path, db_url):
    """Return a function building services whose organisation file has `hooks`."""
    built: list[Services] = []

    def build(hooks: str, **env: str) -> Services:
        settings = make_settings(tmp_path, db_url,
                                 REPORTBOT_ORG_FILE=str(org_with_webhooks(tmp_path, hooks)),
                                 **env)
        services = build_services(settings, db=Database(db_url))
        built.append(services)
        return services

    yield build
    for services in built:
        services.db.dispose()
