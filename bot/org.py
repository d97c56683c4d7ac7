"""The organisation file: who the landlord is, how to reach them, when they work.

TOML, validated at start-up against the pydantic models below, which mirror the file's
tables. Every problem is reported at once, each with its key path
(``support_contacts[2].phone: expected text``); an unknown key is named with the closest
known one (``organisation.out_of_hour_phone: unknown setting; did you mean
out_of_hours_phone?``). Texts a resident sees may be given per language in a
``..._translations`` table beside them, falling back to English. The duty rota
(``[[duty_rota]]``) and the managers (``[[managers]]``) say which staff are told of what,
and how (see bot/rota.py for who counts as on duty). The areas (``[[areas]]``) name the
landlord's estates and their postcode districts (bot/areas.py); ``[[webhooks]]`` names the
landlord's systems that are told of case events (bot/webhooks.py).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.areas import DISTRICT, NAME_MAX, Area
from bot.errors import ConfigError
from bot.rota import DAY_NAMES, Manager, RotaEntry, StaffTargets
from bot.sla import NATION_SUBDIVISIONS, WorkingHours
from bot.voice_config import VoiceLine, VoiceLineTable
from bot.webhook_config import EVENTS, NAME, WebhookEndpoint, check_secret

_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

def _localised(base: str, translations: Mapping[str, str], locale: str) -> str:
    return translations.get(locale) or translations.get(locale.split("-")[0]) or base

# ---- what the rest of the application reads ----------------------------------------------

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
    areas: tuple[Area, ...] = ()
    # [retention]: years after closure before a case's personal data is erased (issue 19).
    retention_years: int = 6
    webhooks: tuple[WebhookEndpoint, ...] = ()
    voice: VoiceLine | None = None  # the phone line, when the file has a [voice] table

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

# ---- the file's schema ---------------------------------------------------------------------

def _not_empty(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value

def _email(value: str) -> str:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(f"not an email address: {value!r}") from None
    return value

def _e164(value: str) -> str:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        number = None
    # is_possible_number, not is_valid_number: Ofcom's drama ranges are not "valid".
    if number is None or not phonenumbers.is_possible_number(number) or value != \
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164):
        raise ValueError(f"expected a number in E.164 form like \"+447700900123\", "
                         f"got {value!r}")
    return value

def _wall_clock(value: Any) -> dt.time:
    """Accept a TOML local time or text like "09:00"; nothing else passes for a time."""
    if isinstance(value, str):
        try:
            value = dt.time.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, dt.time):
        raise ValueError("time_parsing")
    if value.tzinfo is not None:
        raise ValueError("give a wall-clock time without a zone")
    return value

def _chat_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or \
            not re.fullmatch(r"-?[0-9]{1,20}", str(value).strip()):
        raise ValueError("expected a numeric chat id like -1001234567890")
    return str(value).strip()


def _webhook_name(value: str) -> str:
    if not NAME.match(value):
        raise ValueError(f"expected a short name of lower-case letters, digits, - and _ "
                         f"(e.g. \"asb\"), got {value!r}")
    return value


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"expected an http(s) address, got {value!r}")
    return value


def _days(allowed: frozenset[str], note: str = ""):
    def check(value: Any) -> list[str]:
        if not isinstance(value, list) or not value or any(d not in allowed for d in value):
            raise ValueError(f"expected a list like [\"mon\", \"tue\"]{note}, got {value!r}")
        return value
    return BeforeValidator(check)


Text = Annotated[str, AfterValidator(_not_empty)]
Email = Annotated[str, AfterValidator(_email)]
Translations = dict[str, str]
WallClock = Annotated[dt.time, BeforeValidator(_wall_clock)]
WeekDays = Annotated[list[str], _days(frozenset(_DAYS))]
RotaDays = Annotated[list[str], _days(DAY_NAMES, ' ("bank_holiday" allowed)')]

class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              populate_by_name=True)

class OrganisationTable(_Table):
    """`[organisation]`: the landlord's name and public contact details."""

    name: Text
    phone: Text
    email: Email
    out_of_hours_phone: Text
    repairs_timescale: Text
    quick_exit_url: str = "https://www.bbc.co.uk/weather"
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    name_translations: Translations = Field(default_factory=dict)
    repairs_timescale_translations: Translations = Field(default_factory=dict)

    @field_validator("quick_exit_url")
    @classmethod
    def _quick_exit(cls, value: str) -> str:
        if not value.startswith(("https://", "http://", "about:")):
            raise ValueError("expected an http(s) address")
        return value

class WorkingHoursTable(_Table):
    """`[working_hours]`: the working week, in the landlord's time zone."""

    start: WallClock = dt.time(9, 0)
    end: WallClock = dt.time(17, 0)
    days: WeekDays = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    timezone: str = "Europe/London"
    bank_holidays: Literal[tuple(sorted(NATION_SUBDIVISIONS))] = "england"  # type: ignore[valid-type]

    def build(self) -> WorkingHours:
        """Return the working hours the SLA clock uses."""
        return WorkingHours(start=self.start, end=self.end,
                            weekdays=frozenset(_DAYS[d] for d in self.days),
                            timezone=self.timezone, nation=self.bank_holidays)

    @model_validator(mode="after")
    def _consistent(self) -> WorkingHoursTable:
        self.build()  # WorkingHours checks the order of the times and the time zone
        return self

class SupportContactTable(_Table):
    """`[[support_contacts]]`: one entry of the support pack."""

    name: Text
    helps_with: Text
    phone: str = ""
    web: str = ""
    name_translations: Translations = Field(default_factory=dict)
    helps_with_translations: Translations = Field(default_factory=dict)

class StaffTable(_Table):
    """Where one person or team is told: e-mail, SMS (E.164), a Telegram chat id."""

    name: Text
    email: Email | None = None
    sms: Annotated[str, AfterValidator(_e164)] | None = None
    telegram_chat_id: Annotated[str, BeforeValidator(_chat_id)] | None = None

    def targets(self) -> StaffTargets:
        """Return the addresses as the notifier reads them."""
        chat = None if self.telegram_chat_id is None else str(self.telegram_chat_id)
        return StaffTargets(email=self.email, sms=self.sms, telegram_chat_id=chat)

    @model_validator(mode="after")
    def _reachable(self) -> StaffTable:
        if not self.targets().items():
            raise ValueError("needs at least one of email, sms, telegram_chat_id")
        return self

class RotaTable(StaffTable):
    """`[[duty_rota]]`: who is on duty, on which days, between which times."""

    days: RotaDays | None = None
    start: WallClock | None = Field(None, alias="from")
    until: WallClock | None = None

    @field_validator("until")
    @classmethod
    def _shift(cls, until: dt.time | None, info: ValidationInfo) -> dt.time | None:
        if until is not None and until == info.data.get("start"):
            raise ValueError("same as from; leave both out for the whole day")
        return until

def _districts(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
        raise ValueError(f"expected a list like [\"E1\", \"E2\"], got {value!r}")
    districts = [d.strip().upper() for d in value]
    for district in districts:
        if not DISTRICT.match(district):
            raise ValueError(f"{district!r} is not a postcode district like \"E1\" or "
                             "\"SW1A\"")
    return districts


class AreaTable(_Table):
    """`[[areas]]`: one area or estate and the postcode districts it covers."""

    name: Annotated[Text, Field(max_length=NAME_MAX)]
    postcode_districts: Annotated[list[str], BeforeValidator(_districts)] = Field(
        default_factory=list)


class RetentionTable(_Table):
    """`[retention]`: how long a closed case keeps its personal data."""

    # At least a year, so the 12-month victims' profile (13.4) can still be drawn.
    closed_cases_years: Annotated[int, Field(strict=True, ge=1, le=100)] = 6


class WebhookTable(_Table):
    """`[[webhooks]]`: one of the landlord's systems told of case events (bot/webhooks.py)."""

    name: Annotated[str, AfterValidator(_webhook_name)]
    url: Annotated[str, AfterValidator(_http_url)]
    secret: Annotated[str, AfterValidator(check_secret)]
    previous_secrets: list[Annotated[str, AfterValidator(check_secret)]] = Field(
        default_factory=list)
    events: list[Literal[EVENTS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(EVENTS), min_length=1)
    personal_details: bool = False

    def build(self) -> WebhookEndpoint:
        """Return the endpoint the webhook sender reads."""
        return WebhookEndpoint(name=self.name, url=self.url,
                               secrets=(self.secret, *self.previous_secrets),
                               events=frozenset(self.events),
                               personal_details=self.personal_details)


class OrganisationFile(_Table):
    """The whole organisation file."""

    organisation: OrganisationTable
    working_hours: WorkingHoursTable = Field(default_factory=WorkingHoursTable)
    support_contacts: list[SupportContactTable] = Field(default_factory=list)
    duty_rota: list[RotaTable] = Field(default_factory=list)
    managers: list[StaffTable] = Field(default_factory=list)
    areas: list[AreaTable] = Field(default_factory=list)
    retention: RetentionTable = Field(default_factory=RetentionTable)

    @field_validator("areas")
    @classmethod
    def _areas_apart(cls, areas: list[AreaTable]) -> list[AreaTable]:
        names: set[str] = set()
        owner: dict[str, str] = {}
        for area in areas:
            if area.name.casefold() in names:
                raise ValueError(f"{area.name!r} is listed twice")
            names.add(area.name.casefold())
            for district in area.postcode_districts:
                if district in owner:
                    raise ValueError(f"{district} is in both {owner[district]!r} and "
                                     f"{area.name!r}")
                owner[district] = area.name
        return areas
    webhooks: list[WebhookTable] = Field(default_factory=list)
    voice: VoiceLineTable | None = None

    @field_validator("voice")
    @classmethod
    def _duty_number(cls, voice: VoiceLineTable | None) -> VoiceLineTable | None:
        if voice is not None and voice.duty_number is not None:
            _e164(voice.duty_number)
        if voice is not None and voice.transfer_in_hours and voice.duty_number is None:
            raise ValueError("transfer_in_hours needs duty_number, the number to put "
                             "calls through to")
        return voice

    @field_validator("webhooks")
    @classmethod
    def _distinct_names(cls, webhooks: list[WebhookTable]) -> list[WebhookTable]:
        names = [w.name for w in webhooks]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"each webhook needs its own name; used twice: {', '.join(twice)}")
        return webhooks

    def build(self) -> Organisation:
        """Return the organisation the application reads."""
        org = self.organisation
        return Organisation(
            name=org.name, phone=org.phone, email=org.email,
            out_of_hours_phone=org.out_of_hours_phone,
            working_hours=self.working_hours.build(),
            repairs_timescale=org.repairs_timescale,
            support_contacts=tuple(SupportContact(**c.model_dump())
                                   for c in self.support_contacts),
            quick_exit_url=org.quick_exit_url, languages=tuple(org.languages),
            name_translations=org.name_translations,
            repairs_timescale_translations=org.repairs_timescale_translations,
            duty_rota=tuple(RotaEntry(name=r.name, targets=r.targets(),
                                      days=frozenset(r.days) if r.days else None,
                                      start=r.start, until=r.until) for r in self.duty_rota),
            managers=tuple(Manager(name=m.name, targets=m.targets()) for m in self.managers),
            areas=tuple(Area(a.name, tuple(a.postcode_districts)) for a in self.areas),
            retention_years=self.retention.closed_cases_years,
            webhooks=tuple(w.build() for w in self.webhooks),
            voice=self.voice.build() if self.voice is not None else None,
        )

# ---- loading and error reports -------------------------------------------------------------

def load_organisation(path: Path) -> Organisation:
    """Read and validate the organisation file at `path`; every problem at once."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return OrganisationFile.model_validate(data).build()
    except ValidationError as exc:
        raise ConfigError(*problems_of(exc.errors(include_url=False))) from None

def problems_of(errors: list[Mapping[str, Any]]) -> list[str]:
    """Return one line per problem, each starting with its key path."""
    suggested: set[tuple] = set()
    lines: list[tuple[tuple, str]] = []
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden":
            known = _keys_at(loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else \
                f"; known keys: {', '.join(sorted(known))}"
            if close:
                suggested.add((*loc[:-1], close[0]))
            lines.append((loc, f"unknown setting{hint}"))
        else:
            lines.append((loc, _message(error)))
    seen = set()
    result = []
    for loc, message in lines:
        if message == "required" and loc in suggested:
            continue  # the misspelt key above already names it
        line = f"{_path(loc)}: {message}"
        if line not in seen:
            seen.add(line)
            result.append(line)
    return result

def _path(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        elif not str(part).startswith(("function-", "literal[", "int", "str", "constrained")):
            text += f".{part}" if text else str(part)
    return text

def _message(error: Mapping[str, Any]) -> str:
    kind, given = error["type"], error.get("input")
    if kind == "missing":
        return "required"
    if kind == "string_type":
        return f"expected text, got {type(given).__name__}"
    if kind in ("list_type", "too_short") and isinstance(error["loc"][-1], str):
        return f"expected a list like [\"mon\", \"tue\"], got {given!r}"
    if kind == "literal_error":
        return f"expected one of {error['ctx']['expected']}, got {given!r}"
    if kind in ("time_parsing", "time_type"):
        return f"expected a time like \"09:00\", got {given!r}"
    if kind in ("dict_type", "model_type"):
        return "expected a table"
    if kind == "value_error" and str(error["ctx"]["error"]) == "time_parsing":
        return f"expected a time like \"09:00\", got {given!r}"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    return f"{error['msg']}, got {given!r}"

def _keys_at(loc: tuple) -> list[str]:
    """Return the keys the schema accepts at `loc` (a table inside the file)."""
    model: Any = OrganisationFile
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(str(part)) or next(
            (f for f in model.model_fields.values() if f.alias == part), None)
        if info is None:
            return []
        model = _model_in(info.annotation)
        if model is None:
            return []
    return [f.alias or name for name, f in model.model_fields.items()]

def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (
            list, tuple, typing.Union):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
