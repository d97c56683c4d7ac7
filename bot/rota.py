"""The duty rota and the managers: who hears of a new high-priority case or a deadline.

Both come from the organisation file (`[[duty_rota]]`, `[[managers]]`; read in bot/org.py).
Who is on duty is decided for one instant in the landlord's time zone:

- an entry without `days` covers every day, bank holidays included; `days` names
  "mon" … "sun" and may name "bank_holiday";
- an entry without `from`/`until` covers the whole day; `until` at or before `from` is an
  overnight shift, whose early-morning part belongs to the day it started on (so a
  Friday 17:00-09:00 entry covers Saturday 03:00);
- bank holidays (the working-hours calendar's): if any entry names "bank_holiday", on a bank
  holiday only the entries naming it (and those without `days`) apply, as on a day of their
  own; if none does, a bank holiday is rostered like its weekday. The morning after a bank
  holiday is still covered by an overnight shift listed for that weekday, so the switch
  never leaves a gap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.sla import WorkingCalendar

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BANK_HOLIDAY = "bank_holiday"
DAY_NAMES = frozenset(WEEKDAYS) | {BANK_HOLIDAY}


@dataclass(frozen=True)
class StaffTargets:
    """Where one person or team is told: an email address, an SMS number, a Telegram chat."""

    email: str | None = None
    sms: str | None = None  # E.164
    telegram_chat_id: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """Return (kind, address) pairs, kind being "email", "sms" or "telegram"."""
        pairs = [("email", self.email), ("sms", self.sms), ("telegram", self.telegram_chat_id)]
        return [(kind, address) for kind, address in pairs if address]


@dataclass(frozen=True)
class Manager:
    """A manager told of every deadline approaching or missed (4.10)."""

    name: str
    targets: StaffTargets


@dataclass(frozen=True)
class RotaEntry:
    """One line of the duty rota: who, on which days, between which times."""

    name: str
    targets: StaffTargets
    days: frozenset[str] | None = None  # None: every day, bank holidays included
    start: dt.time | None = None  # `from` in the file
    until: dt.time | None = None

    def covers(self, local: dt.datetime, calendar: WorkingCalendar,
               bank_holiday_rota: bool) -> bool:
        """Return whether this entry is on duty at `local` (wall time, landlord's zone)."""
        day, now = local.date(), local.time()
        start, until = self.start or dt.time(0), self.until
        if until is not None and until <= start:  # overnight: runs past midnight
            return (self._on(day, calendar, bank_holiday_rota) and now >= start) or \
                (now < until and self._began(day - dt.timedelta(days=1), calendar))
        return self._on(day, calendar, bank_holiday_rota) and start <= now and (
            until is None or now < until)

    def _on(self, day: dt.date, calendar: WorkingCalendar, bank_holiday_rota: bool) -> bool:
        if self.days is None:
            return True
        if bank_holiday_rota and calendar.is_holiday(day):
            return BANK_HOLIDAY in self.days
        return WEEKDAYS[day.weekday()] in self.days

    def _began(self, day: dt.date, calendar: WorkingCalendar) -> bool:
        """Return whether an overnight shift of this entry started on `day`."""
        if self.days is None or WEEKDAYS[day.weekday()] in self.days:
            return True
        return BANK_HOLIDAY in self.days and calendar.is_holiday(day)


def on_duty(rota: Iterable[RotaEntry], when: dt.datetime,
            calendar: WorkingCalendar) -> list[RotaEntry]:
    """Return the rota entries on duty at the instant `when`, in file order."""
    if when.tzinfo is None:
        raise ValueError("on_duty needs an aware instant")
    entries = list(rota)
    local = when.astimezone(ZoneInfo(calendar.hours.timezone))
    bank_holiday_rota = any(e.days is not None and BANK_HOLIDAY in e.days for e in entries)
    return [e for e in entries if e.covers(local, calendar, bank_holiday_rota)]


def targets_of(people: Iterable[RotaEntry | Manager]) -> list[tuple[str, str]]:
    """Return each distinct (kind, address) of these people once, in order."""
    seen: dict[tuple[str, str], None] = {}
    for person in people:
        for pair in person.targets.items():
            seen.setdefault(pair, None)
    return list(seen)


def staff_addresses(org, kind: str) -> frozenset[str]:
    """Return the organisation's staff addresses of one kind ("sms", "telegram")."""
    return frozenset(address for k, address in targets_of((*org.duty_rota, *org.managers))
                     if k == kind)
