"""The application's collaborators, built once from settings and passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from bot.crypto import Vault
from bot.db import Database
from bot.i18n import Catalogs
from bot.org import Organisation, load_organisation
from bot.settings import Settings
from bot.sla import WorkingCalendar
from bot.store import CaseStore
from flows.engine import Flow
from flows.report import build_flow


@dataclass
class Services:
    """Everything a request handler needs; no module-level state anywhere."""

    settings: Settings
    org: Organisation
    vault: Vault
    calendar: WorkingCalendar
    catalogs: Catalogs
    flow: Flow
    db: Database

    @cached_property
    def store(self) -> CaseStore:
        """Return the case store."""
        return CaseStore(self.vault, self.calendar, self.org.areas)

    @cached_property
    def guess_language(self):
        """Return the offline language guesser for the enabled languages."""
        from bot.detect import LanguageGuesser

        return LanguageGuesser(self.catalogs.codes)

    @cached_property
    def conversations(self):
        """Return the conversation turn runner."""
        from bot.dispatch import Conversations

        return Conversations(self)


def build_services(settings: Settings, db: Database | None = None) -> Services:
    """Check the configuration and build the services; connects to nothing yet."""
    org = load_organisation(settings.org_file)
    return Services(
        settings=settings,
        org=org,
        vault=Vault(settings.secret_keys),
        calendar=WorkingCalendar(org.working_hours),
        catalogs=Catalogs(org.languages),
        flow=build_flow(),
        db=db or Database(settings.database_url),
    )
