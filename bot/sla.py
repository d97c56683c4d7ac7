"""The working-day clock behind the policy's deadlines (policy 4.2-4.4).

A report received out of hours counts as received at the start of the next working period
(4.2: "the next available working day"). "Within N working days" is working time, as
business-hours SLAs are measured elsewhere: the deadline is the instant at which N times
the working-day length (8 hours by default) of working time has elapsed since the report
counts as received. A clock that starts at opening time therefore ends at that day's close
of business; a report a minute later is due a minute later, never a whole day. Instants are
stored and returned in UTC and computed in the organisation's local time, so clock changes
move deadlines correctly.

(The first version counted to close of business on the Nth working day after the day the
report counted from, which gave a Sunday report until Tuesday 17:00: a day late against
4.2. Cases stored under that rule keep their deadlines; see `DEADLINE_RULE`.)

Pure: no I/O beyond the ``holidays`` package's built-in tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = [
    "ACTION_PLAN_WORKING_DAYS",
    "FIRST_CONTACT_WORKING_DAYS",
    "DEADLINE_RULE",
    "NATION_SUBDIVISIONS",
    "Deadlines",
    "WorkingCalendar",
    "WorkingHours",
]

UTC = dt.UTC

# Policy 4.2/4.3: victim contacted within 1 working day; 4.4: action plan within 10.
FIRST_CONTACT_WORKING_DAYS = 1
ACTION_PLAN_WORKING_DAYS = 10

# Recorded on each case with its deadlines, so a later change of rule never rewrites them.
DEADLINE_RULE = "working_time"

# The UK's bank holidays differ by nation; without a subdivision the `holidays` package omits
# Easter Monday and the August bank holiday, so the subdivision is always passed.
NATION_SUBDIVISIONS: dict[str, str] = {
    "england": "ENG",
    "wales": "WLS",
    "scotland": "SCT",
    "northern_ireland": "NIR",
}

# A calendar whose working days are all holidays would loop for ever; no real configuration
# goes a whole year without a working day, so searching further than this is a bug.
_MAX_DAYS_WITHOUT_WORK = 366


@dataclass(frozen=True)
class WorkingHours:
    """The organisation's working week, hours, time zone and bank-holiday nation."""

    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(17, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    timezone: str = "Europe/London"
    nation: str = "england"

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, dt.time):
                raise ValueError(f"WorkingHours.{name} must be a datetime.time, got {value!r}")
            if value.tzinfo is not None:
                raise ValueError(
                    f"WorkingHours.{name} must be a local wall-clock time without tzinfo; "
                    "set WorkingHours.timezone instead"
                )
        if not self.start < self.end:
            raise ValueError(
                f"WorkingHours.start ({self.start:%H:%M}) must be before "
                f"WorkingHours.end ({self.end:%H:%M})"
            )
        if not isinstance(self.weekdays, frozenset):
            raise ValueError(
                f"WorkingHours.weekdays must be a frozenset of ints, got {self.weekdays!r}"
            )
        if not self.weekdays:
            raise ValueError("WorkingHours.weekdays must name at least one day (Monday=0)")
        bad_days = sorted(
            repr(d)
            for d in self.weekdays
            if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6
        )
        if bad_days:
            raise ValueError(
                f"WorkingHours.weekdays must be within 0..6 (Monday=0), got {', '.join(bad_days)}"
            )
        if self.nation not in NATION_SUBDIVISIONS:
            raise ValueError(
                f"WorkingHours.nation {self.nation!r} is not one of "
                f"{', '.join(sorted(NATION_SUBDIVISIONS))}"
            )
        if not isinstance(self.timezone, str) or not self.timezone:
            raise ValueError(f"WorkingHours.timezone must be an IANA name, got {self.timezone!r}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"WorkingHours.timezone {self.timezone!r} is not a known IANA time zone"
            ) from exc


@dataclass(frozen=True)
class Deadlines:
    """When a report arrived, when its clock starts and when its SLAs fall due (all UTC)."""

    received_at: dt.datetime
    counts_from: dt.datetime
    out_of_hours: bool
    first_contact_due: dt.datetime
    action_plan_due: dt.datetime


def _require_aware(instant: dt.datetime, name: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {instant.isoformat()}")


class WorkingCalendar:
    """Answer working-day questions for one organisation's WorkingHours."""

    def __init__(self, hours: WorkingHours | None = None) -> None:
        self.hours = hours if hours is not None else WorkingHours()
        self._tz = ZoneInfo(self.hours.timezone)
        self._subdivision = NATION_SUBDIVISIONS[self.hours.nation]
        # Holiday tables are built per year on first use; they never change for a year.
        self._holidays_by_year: dict[int, frozenset[dt.date]] = {}

    def __repr__(self) -> str:
        return f"WorkingCalendar({self.hours!r})"

    def _holidays(self, year: int) -> frozenset[dt.date]:
        cached = self._holidays_by_year.get(year)
        if cached is None:
            table = holidays.country_holidays("GB", subdiv=self._subdivision, years=year)
            cached = frozenset(table.keys())
            self._holidays_by_year[year] = cached
        return cached

    def is_holiday(self, day: dt.date) -> bool:
        """Return whether the day is a bank holiday (including substitute days) in the nation."""
        return day in self._holidays(day.year)

    def is_working_day(self, day: dt.date) -> bool:
        """Return whether the day is a working weekday that is not a bank holiday."""
        if isinstance(day, dt.datetime):
            raise TypeError("is_working_day takes a date; use is_working_time for an instant")
        return day.weekday() in self.hours.weekdays and not self.is_holiday(day)

    def is_working_time(self, instant: dt.datetime) -> bool:
        """Return whether the instant falls inside working hours on a working day."""
        _require_aware(instant, "instant")
        local = instant.astimezone(self._tz)
        return (
            self.is_working_day(local.date()) and self.hours.start <= local.time() < self.hours.end
        )

    def counts_from(self, received: dt.datetime) -> dt.datetime:
        """Return when a report received at this instant starts counting (UTC)."""
        _require_aware(received, "received")
        if self.is_working_time(received):
            return received.astimezone(UTC)
        local = received.astimezone(self._tz)
        day = local.date()
        if not (self.is_working_day(day) and local.time() < self.hours.start):
            day = self._next_working_day(day)
        return self._local_instant(day, self.hours.start)

    @property
    def working_day(self) -> dt.timedelta:
        """Return the length of one working day on the wall clock (8 hours by default)."""
        today = dt.date(2000, 1, 3)
        return (dt.datetime.combine(today, self.hours.end)
                - dt.datetime.combine(today, self.hours.start))

    def due(self, received: dt.datetime, working_days: int) -> dt.datetime:
        """Return the instant N working days of working time after the report counts (UTC)."""
        if isinstance(working_days, bool) or not isinstance(working_days, int):
            raise TypeError(f"working_days must be an int, got {working_days!r}")
        if working_days < 0:
            raise ValueError(f"working_days must not be negative, got {working_days}")
        return self.add_working_time(self.counts_from(received),
                                     working_days * self.working_day)

    def add_working_time(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """Return the instant at which `amount` of working time has elapsed after `start`.

        Time is spent only inside working hours on working days. When the amount runs out
        exactly at a close of business, that close is the answer, not the next opening.
        """
        _require_aware(start, "start")
        if amount < dt.timedelta(0):
            raise ValueError(f"amount must not be negative, got {amount}")
        instant = start.astimezone(UTC)
        remaining = amount
        day = instant.astimezone(self._tz).date()
        if not remaining:
            return instant
        for _ in range(_MAX_DAYS_WITHOUT_WORK * (1 + amount // self.working_day)):
            if self.is_working_day(day):
                begin = max(instant, self._local_instant(day, self.hours.start))
                close = self._local_instant(day, self.hours.end)
                if begin < close:
                    if remaining <= close - begin:
                        return begin + remaining
                    remaining -= close - begin
            day += dt.timedelta(days=1)
        raise RuntimeError(f"no working time found after {start.isoformat()}")

    def deadlines(self, received: dt.datetime) -> Deadlines:
        """Return the first-contact and action-plan deadlines for a report received now."""
        _require_aware(received, "received")
        return Deadlines(
            received_at=received.astimezone(UTC),
            counts_from=self.counts_from(received),
            out_of_hours=not self.is_working_time(received),
            first_contact_due=self.due(received, FIRST_CONTACT_WORKING_DAYS),
            action_plan_due=self.due(received, ACTION_PLAN_WORKING_DAYS),
        )

    def working_seconds_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Return the seconds of working time between two instants (negative if reversed)."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        # Work in UTC: subtracting two datetimes that share a tzinfo ignores DST transitions.
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end < start:
            return -self.working_seconds_between(end, start)
        total = 0.0
        day = start.astimezone(self._tz).date()
        last_day = end.astimezone(self._tz).date()
        while day <= last_day:
            if self.is_working_day(day):
                open_at = max(start, self._local_instant(day, self.hours.start))
                close_at = min(end, self._local_instant(day, self.hours.end))
                if close_at > open_at:
                    total += (close_at - open_at).total_seconds()
            day += dt.timedelta(days=1)
        return total

    def _next_working_day(self, day: dt.date) -> dt.date:
        for offset in range(1, _MAX_DAYS_WITHOUT_WORK + 1):
            candidate = day + dt.timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise RuntimeError(f"no working day within {_MAX_DAYS_WITHOUT_WORK} days after {day}")

    def _local_instant(self, day: dt.date, wall_time: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, wall_time, tzinfo=self._tz).astimezone(UTC)
