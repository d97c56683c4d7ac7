"""The application's collaborators, built once from settings and passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from bot import webhooks
from bot.crypto import Vault
from bot.db import Database
from bot.detect import LanguageGuesser
from bot.i18n import Catalogs
from bot.org import Organisation, load_organisation
from bot.settings import Settings
from bot.signs import load_signs
from bot.sla import WorkingCalendar
from bot.store import CaseStore
from flows.engine import Flow
from flows.indicators import PrejudiceSigns
from flows.report import build_flow


@dataclass
class Services:
    """The application's collaborators: configuration, keys, calendar, catalogs, database.

    No module-level state anywhere; the conversation runner and the channels are built on
    top of these by bot/app.py.
    """

    settings: Settings
    org: Organisation
    vault: Vault
    calendar: WorkingCalendar
    catalogs: Catalogs
    flow: Flow
    db: Database
    signs: PrejudiceSigns

    @cached_property
    def store(self) -> CaseStore:
        """Return the case store; it tells the outbound webhooks of case changes."""
        events = webhooks.CaseEvents(self) if self.org.webhooks else None
        return CaseStore(self.vault, self.calendar, self.org.areas, on_record=events)

    @cached_property
    def guess_language(self) -> LanguageGuesser:
        """Return the offline language guesser for the enabled languages (built on use)."""
        return LanguageGuesser(self.catalogs.codes)


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
        signs=load_signs(org.languages),
    )
