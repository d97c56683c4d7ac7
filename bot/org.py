"""The organisation file: who the landlord is, how to reach them, when they work.

TOML, validated at start-up. Every error names the bad key, e.g.
``support_contacts[2].phone: expected text``. Texts a resident sees may be given per
language in a ``translations`` table beside them, falling back to English. The duty rota
(``[[duty_rota]]``) and the managers (``[[managers]]``) say which staff are told of what,
and how (see bot/rota.py for who counts as on duty).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers

from bot.errors import ConfigError
from bot.rota import DAY_NAMES, Manager, RotaEntry, StaffTargets
from bot.sla import NATION_SUBDIVISIONS, WorkingHours

_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def _localised(base: str, translations: Mapping[str, str], locale: str) -> str:
    return translations.get(locale) or translations.get(locale.split("-")[0]) or base


@dataclass(frozen=True)
class SupportContact:
    """One entry of the support pack (policy 4.3)."""

    name: str
    helps_with: str
    phone: str = ""
    web: str = ""
    name_translations: Mapping[str, str] = field(default_factory=dict)
    helps_with_translations: Mapping[str, str] = field(default_factory=dict)

    def name_in(self, locale: str) -> str:
        """Return the contact's name in `locale`, falling back to English."""
        return _localised(self.name, self.name_translations, locale)

    def helps_with_in(self, locale: str) -> str:
        """Return what the contact helps with in `locale`, falling back to English."""
        return _localised(self.helps_with, self.helps_with_translations, locale)


@dataclass(frozen=True)
class Organisation:
    """The landlord's public details and working hours."""

    name: str
    phone: str
    email: str
    out_of_hours_phone: str
    working_hours: WorkingHours
    repairs_timescale: str
    support_contacts: tuple[SupportContact, ...]
    quick_exit_url: str = "https://www.bbc.co.uk/weather"
    languages: tuple[str, ...] = ("en",)
    name_translations: Mapping[str, str] = field(default_factory=dict)
    repairs_timescale_translations: Mapping[str, str] = field(default_factory=dict)
    duty_rota: tuple[RotaEntry, ...] = ()
    managers: tuple[Manager, ...] = ()
    # [retention]: years after closure before a case's personal data is erased (issue 19).
    retention_years: int = 6

    @property
    def timezone(self) -> str:
        """Return the landlord's time zone name."""
        return self.working_hours.timezone

    def name_in(self, locale: str) -> str:
        """Return the landlord's name in `locale`, falling back to English."""
        return _localised(self.name, self.name_translations, locale)

    def repairs_timescale_in(self, locale: str) -> str:
        """Return the repairs timescale text in `locale`, falling back to English."""
        return _localised(self.repairs_timescale, self.repairs_timescale_translations, locale)


class _Reader:
    """Read typed values from a TOML table, naming the full key path in every error."""

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a table")
        self.data = data
        self.path = path
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def text(self, name: str, default: str | None = None) -> str:
        self.used.add(name)
        value = self.data.get(name, default)
        if value is None:
            raise ConfigError(f"{self.key(name)}: required")
        if not isinstance(value, str):
            raise ConfigError(f"{self.key(name)}: expected text, got {type(value).__name__}")
        if not value.strip() and default is None:
            raise ConfigError(f"{self.key(name)}: must not be empty")
        return value.strip()

    def translations(self, name: str) -> dict[str, str]:
        self.used.add(name)
        value = self.data.get(name, {})
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ConfigError(f"{self.key(name)}: expected a table of language = \"text\"")
        return dict(value)

    def table(self, name: str) -> _Reader:
        self.used.add(name)
        return _Reader(self.data.get(name, {}), self.key(name))

    def check_unknown(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(f"{self.key(unknown[0])}: unknown setting")


def _time(reader: _Reader, name: str, default: str) -> dt.time:
    raw = reader.text(name, default)
    try:
        return dt.time.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{reader.key(name)}: expected a time like \"09:00\", "
                          f"got {raw!r}") from None


def _working_hours(reader: _Reader) -> WorkingHours:
    reader.used.add("days")
    days = reader.data.get("days", ["mon", "tue", "wed", "thu", "fri"])
    if not isinstance(days, list) or not days or any(d not in _DAYS for d in days):
        raise ConfigError(f"{reader.key('days')}: expected a list like [\"mon\", \"tue\"]")
    nation = reader.text("bank_holidays", "england")
    if nation not in NATION_SUBDIVISIONS:
        raise ConfigError(f"{reader.key('bank_holidays')}: expected one of "
                          f"{', '.join(sorted(NATION_SUBDIVISIONS))}, got {nation!r}")
    try:
        hours = WorkingHours(
            start=_time(reader, "start", "09:00"),
            end=_time(reader, "end", "17:00"),
            weekdays=frozenset(_DAYS[d] for d in days),
            timezone=reader.text("timezone", "Europe/London"),
            nation=nation,
        )
    except ValueError as exc:
        raise ConfigError(f"{reader.path}: {exc}") from None
    reader.check_unknown()
    return hours


def _entries(top: _Reader, name: str) -> list[_Reader]:
    top.used.add(name)
    raw = top.data.get(name, [])
    if not isinstance(raw, list):
        raise ConfigError(f"{name}: expected [[{name}]] entries")
    return [_Reader(item, f"{name}[{i}]") for i, item in enumerate(raw, start=1)]


def _staff_targets(reader: _Reader) -> StaffTargets:
    email = reader.text("email", "") or None
    if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise ConfigError(f"{reader.key('email')}: not an email address: {email!r}")
    sms = reader.text("sms", "") or None
    if sms is not None:
        try:
            number = phonenumbers.parse(sms, None)
        except phonenumbers.NumberParseException:
            number = None
        # is_possible_number, not is_valid_number: Ofcom's drama ranges are not "valid".
        if number is None or not phonenumbers.is_possible_number(number) or sms != \
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164):
            raise ConfigError(f"{reader.key('sms')}: expected a number in E.164 form like "
                              f"\"+447700900123\", got {sms!r}")
    reader.used.add("telegram_chat_id")
    chat = reader.data.get("telegram_chat_id")
    if chat is not None:
        if isinstance(chat, bool) or not isinstance(chat, int | str) or \
                not re.fullmatch(r"-?[0-9]{1,20}", str(chat).strip()):
            raise ConfigError(f"{reader.key('telegram_chat_id')}: expected a numeric chat "
                              "id like -1001234567890")
        chat = str(chat).strip()
    targets = StaffTargets(email=email, sms=sms, telegram_chat_id=chat)
    if not targets.items():
        raise ConfigError(f"{reader.path}: needs at least one of email, sms, "
                          "telegram_chat_id")
    return targets


def _optional_time(reader: _Reader, name: str) -> dt.time | None:
    if not reader.text(name, ""):
        return None
    value = _time(reader, name, "")
    if value.tzinfo is not None:
        raise ConfigError(f"{reader.key(name)}: give a wall-clock time without a zone")
    return value


def _rota_entry(reader: _Reader) -> RotaEntry:
    name = reader.text("name")
    targets = _staff_targets(reader)
    reader.used.add("days")
    days = reader.data.get("days")
    if days is not None and (not isinstance(days, list) or not days
                             or any(d not in DAY_NAMES for d in days)):
        raise ConfigError(f"{reader.key('days')}: expected a list like [\"mon\", \"tue\"] "
                          "(\"bank_holiday\" allowed)")
    start, until = _optional_time(reader, "from"), _optional_time(reader, "until")
    if start is not None and start == until:
        raise ConfigError(f"{reader.key('until')}: same as from; leave both out for the "
                          "whole day")
    reader.check_unknown()
    return RotaEntry(name=name, targets=targets,
                     days=frozenset(days) if days is not None else None,
                     start=start, until=until)


def _manager(reader: _Reader) -> Manager:
    manager = Manager(name=reader.text("name"), targets=_staff_targets(reader))
    reader.check_unknown()
    return manager


def _retention_years(reader: _Reader) -> int:
    """Read `[retention] closed_cases_years`: at least 1, so the 12-month victims' profile
    (13.4) never loses a case it counts."""
    reader.used.add("closed_cases_years")
    years = reader.data.get("closed_cases_years", 6)
    if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= 100:
        raise ConfigError(f"{reader.key('closed_cases_years')}: expected a whole number of "
                          "years from 1 to 100")
    reader.check_unknown()
    return years


def load_organisation(path: Path) -> Organisation:
    """Read and validate the organisation file at `path`."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    top = _Reader(data, "")
    org = top.table("organisation")
    hours = _working_hours(top.table("working_hours"))
    contacts = []
    top.used.add("support_contacts")
    raw_contacts = data.get("support_contacts", [])
    if not isinstance(raw_contacts, list):
        raise ConfigError("support_contacts: expected [[support_contacts]] entries")
    for i, raw in enumerate(raw_contacts, start=1):
        c = _Reader(raw, f"support_contacts[{i}]")
        contacts.append(SupportContact(
            name=c.text("name"), helps_with=c.text("helps_with"),
            phone=c.text("phone", ""), web=c.text("web", ""),
            name_translations=c.translations("name_translations"),
            helps_with_translations=c.translations("helps_with_translations"),
        ))
        c.check_unknown()
    org.used.add("languages")
    languages = org.data.get("languages", ["en"])
    if not isinstance(languages, list) or not languages or not all(
        isinstance(x, str) for x in languages
    ):
        raise ConfigError("organisation.languages: expected a list of language codes")
    email = org.text("email")
    if "@" not in email:
        raise ConfigError(f"organisation.email: not an email address: {email!r}")
    quick_exit = org.text("quick_exit_url", "https://www.bbc.co.uk/weather")
    if not quick_exit.startswith(("https://", "http://", "about:")):
        raise ConfigError("organisation.quick_exit_url: expected an http(s) address")
    result = Organisation(
        name=org.text("name"),
        phone=org.text("phone"),
        email=email,
        out_of_hours_phone=org.text("out_of_hours_phone"),
        working_hours=hours,
        repairs_timescale=org.text("repairs_timescale"),
        support_contacts=tuple(contacts),
        quick_exit_url=quick_exit,
        languages=tuple(languages),
        name_translations=org.translations("name_translations"),
        repairs_timescale_translations=org.translations("repairs_timescale_translations"),
        duty_rota=tuple(_rota_entry(r) for r in _entries(top, "duty_rota")),
        managers=tuple(_manager(r) for r in _entries(top, "managers")),
        retention_years=_retention_years(top.table("retention")),
    )
    org.check_unknown()
    top.check_unknown()
    return result
