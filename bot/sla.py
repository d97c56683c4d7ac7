"""The working-day clock behind the policy's deadlines (policy 4.2-4.4).

A report received out of hours counts as received at the start of the next working period;
"within N working days" means by close of business on the Nth working day after the day the
report counts as received. Instants are stored and returned in UTC and computed in the
organisation's local time, so clock changes move deadlines correctly.

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
    "NATION_SUBDIVISIONS",
    "Deadlines",
    "WorkingCalendar",
    "WorkingHours",
]

UTC = dt.UTC

# Policy 4.2/4.3: victim contacted within 1 working day; 4.4: action plan within 10.
FIRST_CONTACT_WORKING_DAYS = 1
ACTION_PLAN_WORKING_DAYS = 10

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

    def due(self, received: dt.datetime, working_days: int) -> dt.datetime:
        """Return close of business on the Nth working day after the report counts (UTC)."""
        if isinstance(working_days, bool) or not isinstance(working_days, int):
            raise TypeError(f"working_days must be an int, got {working_days!r}")
        if working_days < 0:
            raise ValueError(f"working_days must not be negative, got {working_days}")
        day = self.counts_from(received).astimezone(self._tz).date()
        for _ in range(working_days):
            day = self._next_working_day(day)
        return self._local_instant(day, self.hours.end)

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
