"""The working-day clock: every expected instant below was worked out by hand from a calendar.

2026 facts used: 1 Jan is a Thursday; British Summer Time runs from Sun 29 Mar to Sun 25 Oct
2026 (UTC+1 in between, UTC+0 outside). England's 2026 bank holidays: 1 Jan, 3 Apr (Good
Friday), 6 Apr (Easter Monday), 4 May, 25 May, 31 Aug, 25 Dec and 28 Dec (Boxing Day
substitute, since 26 Dec is a Saturday). 2027: 1 Jan (Friday), 27 and 28 Dec substitutes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.sla import Deadlines, WorkingCalendar, WorkingHours

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC
HOUR = 3600.0


def london(year, month, day, hour=0, minute=0, second=0):
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=LONDON)


def utc(year, month, day, hour=0, minute=0, second=0):
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def assert_utc(actual: dt.datetime, expected: dt.datetime) -> None:
    assert actual == expected
    assert actual.utcoffset() == dt.timedelta(0), f"{actual!r} is not expressed in UTC"


@pytest.fixture(scope="module")
def england() -> WorkingCalendar:
    return WorkingCalendar(WorkingHours())


@pytest.fixture(scope="module")
def scotland() -> WorkingCalendar:
    return WorkingCalendar(WorkingHours(nation="scotland"))


@pytest.fixture(scope="module")
def wales() -> WorkingCalendar:
    return WorkingCalendar(WorkingHours(nation="wales"))


@pytest.fixture(scope="module")
def northern_ireland() -> WorkingCalendar:
    return WorkingCalendar(WorkingHours(nation="northern_ireland"))


# --- The examples in DOMAIN.md ("Working days"): the test table ---------------------------
# Working time: N x 8 working hours from when the report counts as received; a clock that
# starts at opening ends at that day's close of business.

DOMAIN_EXAMPLES = [
    # (received, London wall clock) -> (counts from, due), in UTC (January is GMT)
    pytest.param(london(2026, 1, 12, 10, 0), 1, utc(2026, 1, 12, 10, 0),
                 utc(2026, 1, 13, 10, 0), id="Mon 10:00, 1 wd: Tue 10:00"),
    pytest.param(london(2026, 1, 12, 10, 0), 10, utc(2026, 1, 12, 10, 0),
                 utc(2026, 1, 26, 10, 0), id="Mon 10:00, 10 wd: Mon two weeks later 10:00"),
    pytest.param(london(2026, 1, 16, 16, 59), 1, utc(2026, 1, 16, 16, 59),
                 utc(2026, 1, 19, 16, 59), id="Fri 16:59: Mon 16:59"),
    pytest.param(london(2026, 1, 16, 17, 0), 1, utc(2026, 1, 19, 9, 0),
                 utc(2026, 1, 19, 17, 0), id="Fri 17:00: counts Mon 09:00, due Mon 17:00"),
    pytest.param(london(2026, 1, 17, 23, 40), 1, utc(2026, 1, 19, 9, 0),
                 utc(2026, 1, 19, 17, 0), id="Sat 23:40: Mon 17:00"),
    pytest.param(london(2026, 1, 12, 8, 15), 1, utc(2026, 1, 12, 9, 0),
                 utc(2026, 1, 12, 17, 0), id="Mon 08:15: Mon 17:00"),
    pytest.param(london(2026, 12, 24, 18, 30), 1, utc(2026, 12, 29, 9, 0),
                 utc(2026, 12, 29, 17, 0),
                 id="Thu 24 Dec 18:30: counts Tue 29 Dec 09:00, due Tue 29 Dec 17:00"),
]


@pytest.mark.parametrize(("received", "days", "counts", "due"), DOMAIN_EXAMPLES)
def test_domain_examples(england, received, days, counts, due):
    assert_utc(england.counts_from(received), counts)
    assert_utc(england.due(received, days), due)


def test_sunday_night_report_is_due_monday_close_not_tuesday(england):
    # The issue that changed the rule: Sunday 03:40 was promised "17:00 on Tuesday".
    received = london(2026, 11, 29, 3, 40)
    assert_utc(england.counts_from(received), utc(2026, 11, 30, 9, 0))
    assert_utc(england.due(received, 1), utc(2026, 11, 30, 17, 0))


def test_a_minute_later_is_never_a_whole_day_later(england):
    # Every minute of a week (and its bank-holiday-free neighbours): deadlines never go
    # back, and a report a minute later is due at most a minute of working time later.
    minute = dt.timedelta(minutes=1)
    received = utc(2026, 1, 15, 0, 0)
    previous = england.due(received, 1)
    for _ in range(7 * 24 * 60):
        received += minute
        due = england.due(received, 1)
        assert due >= previous
        assert england.working_seconds_between(previous, due) <= 60, received
        previous = due


@pytest.mark.parametrize("days", [1, 10])
@pytest.mark.parametrize("received", [
    london(2026, 1, 12, 10, 0), london(2026, 3, 27, 16, 30), london(2026, 4, 2, 11, 0),
    london(2026, 10, 23, 12, 0), london(2026, 12, 23, 15, 45), london(2027, 12, 24, 9, 0),
    london(2026, 5, 29, 16, 59, 59),
])
def test_the_deadline_is_exactly_n_working_days_of_working_time(england, received, days):
    counts = england.counts_from(received)
    due = england.due(received, days)
    assert england.working_seconds_between(counts, due) == days * 8 * HOUR


def test_monday_morning_is_due_tuesday_at_the_same_time(england):
    received = london(2026, 1, 12, 10, 0)  # Monday, GMT
    assert england.is_working_time(received)
    assert_utc(england.counts_from(received), utc(2026, 1, 12, 10, 0))
    assert_utc(england.due(received, 1), utc(2026, 1, 13, 10, 0))


def test_friday_afternoon_is_due_monday_afternoon(england):
    assert_utc(england.due(london(2026, 1, 16, 16, 0), 1), utc(2026, 1, 19, 16, 0))


def test_saturday_night_counts_from_monday_morning(england):
    received = london(2026, 1, 17, 23, 40)
    assert not england.is_working_time(received)
    assert_utc(england.counts_from(received), utc(2026, 1, 19, 9, 0))
    assert_utc(england.due(received, 1), utc(2026, 1, 19, 17, 0))


@pytest.mark.parametrize("hour", [0, 9, 12, 17, 23])
def test_any_time_at_the_weekend_is_due_monday_close(england, hour):
    for day in (17, 18):  # Saturday, Sunday
        received = london(2026, 1, day, hour, 30)
        assert_utc(england.counts_from(received), utc(2026, 1, 19, 9, 0))
        assert_utc(england.due(received, 1), utc(2026, 1, 19, 17, 0))


def test_christmas_eve_evening_counts_from_the_29th(england):
    received = london(2026, 12, 24, 18, 30)  # Thursday
    assert_utc(england.counts_from(received), utc(2026, 12, 29, 9, 0))
    assert_utc(england.due(received, 1), utc(2026, 12, 29, 17, 0))


def test_christmas_eve_afternoon_carries_over_christmas(england):
    # Thu 24 Dec 15:00-17:00 is 2 h; the other 6 h are Tue 29 Dec 09:00-15:00.
    assert_utc(england.due(london(2026, 12, 24, 15, 0), 1), utc(2026, 12, 29, 15, 0))


# --- Edges of the working day ----------------------------------------------------------------


def test_nine_oclock_is_in_hours_and_due_the_same_evening(england):
    received = london(2026, 1, 12, 9, 0)
    assert england.is_working_time(received)
    assert_utc(england.counts_from(received), utc(2026, 1, 12, 9, 0))
    assert_utc(england.due(received, 1), utc(2026, 1, 12, 17, 0))


def test_one_minute_before_nine_counts_from_nine_the_same_day(england):
    received = london(2026, 1, 12, 8, 59)
    assert not england.is_working_time(received)
    assert_utc(england.counts_from(received), utc(2026, 1, 12, 9, 0))
    assert_utc(england.due(received, 1), utc(2026, 1, 12, 17, 0))


def test_last_second_before_five_is_in_hours(england):
    received = london(2026, 1, 12, 16, 59, 59)
    assert england.is_working_time(received)
    assert_utc(england.due(received, 1), utc(2026, 1, 13, 16, 59, 59))


def test_five_oclock_exactly_is_out_of_hours(england):
    received = london(2026, 1, 12, 17, 0)
    assert not england.is_working_time(received)
    assert_utc(england.counts_from(received), utc(2026, 1, 13, 9, 0))
    assert_utc(england.due(received, 1), utc(2026, 1, 13, 17, 0))


def test_friday_five_oclock_counts_from_monday(england):
    received = london(2026, 1, 16, 17, 0)
    assert_utc(england.counts_from(received), utc(2026, 1, 19, 9, 0))
    assert_utc(england.due(received, 1), utc(2026, 1, 19, 17, 0))


def test_early_hours_of_a_weekday_count_from_that_morning(england):
    received = london(2026, 1, 14, 3, 15)  # Wednesday
    assert_utc(england.counts_from(received), utc(2026, 1, 14, 9, 0))
    assert_utc(england.due(received, 1), utc(2026, 1, 14, 17, 0))


def test_received_in_another_time_zone_is_judged_by_london_time(england):
    # 10:00 in Kolkata on Mon 12 Jan 2026 is 04:30 in London: before opening.
    received = dt.datetime(2026, 1, 12, 10, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert not england.is_working_time(received)
    assert_utc(england.counts_from(received), utc(2026, 1, 12, 9, 0))


def test_in_hours_counts_from_is_returned_in_utc(england):
    received = london(2026, 7, 1, 12, 0)  # BST
    assert_utc(england.counts_from(received), utc(2026, 7, 1, 11, 0))


def test_zero_working_days_is_when_the_report_counts_from(england):
    assert_utc(england.due(london(2026, 1, 17, 12, 0), 0), utc(2026, 1, 19, 9, 0))


def test_negative_working_days_are_refused(england):
    with pytest.raises(ValueError, match="working_days"):
        england.due(london(2026, 1, 12, 10, 0), -1)


def test_working_day_length_follows_the_configured_hours(england):
    assert england.working_day == dt.timedelta(hours=8)
    short = WorkingCalendar(WorkingHours(start=dt.time(8, 30), end=dt.time(13, 0)))
    assert short.working_day == dt.timedelta(hours=4, minutes=30)


# --- Bank holidays (England) -----------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        dt.date(2026, 1, 1),
        dt.date(2026, 4, 3),  # Good Friday
        dt.date(2026, 4, 6),  # Easter Monday
        dt.date(2026, 5, 4),  # early May
        dt.date(2026, 5, 25),  # spring
        dt.date(2026, 8, 31),  # late summer
        dt.date(2026, 12, 25),
        dt.date(2026, 12, 28),  # Boxing Day (observed)
        dt.date(2027, 1, 1),
        dt.date(2027, 12, 27),  # Christmas Day (observed)
        dt.date(2027, 12, 28),  # Boxing Day (observed)
    ],
)
def test_english_bank_holidays_are_not_working_days(england, day):
    assert day.weekday() < 5
    assert not england.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        dt.date(2026, 1, 2),  # Scottish only
        dt.date(2026, 4, 2),
        dt.date(2026, 4, 7),
        dt.date(2026, 8, 3),  # Scottish only
        dt.date(2026, 12, 24),
        dt.date(2026, 12, 29),
        dt.date(2026, 12, 31),
        dt.date(2027, 1, 4),
    ],
)
def test_ordinary_weekdays_are_working_days(england, day):
    assert england.is_working_day(day)


def test_weekends_are_not_working_days(england):
    assert not england.is_working_day(dt.date(2026, 1, 17))
    assert not england.is_working_day(dt.date(2026, 1, 18))


def test_easter_2026_thursday_report_is_due_tuesday(england):
    # Thu 2 Apr 10:00-17:00 is 7 h; Good Friday to Easter Monday are closed; Tue 09:00-10:00.
    received = london(2026, 4, 2, 10, 0)  # Thursday, BST
    assert_utc(england.due(received, 1), utc(2026, 4, 7, 9, 0))


def test_easter_2026_thursday_evening_report_counts_from_tuesday(england):
    received = london(2026, 4, 2, 17, 30)
    assert_utc(england.counts_from(received), utc(2026, 4, 7, 8, 0))
    assert_utc(england.due(received, 1), utc(2026, 4, 7, 16, 0))


@pytest.mark.parametrize("day", [3, 4, 5, 6])
def test_reports_over_easter_weekend_count_from_tuesday_morning(england, day):
    received = london(2026, 4, day, 11, 0)
    assert not england.is_working_time(received)
    assert_utc(england.counts_from(received), utc(2026, 4, 7, 8, 0))
    assert_utc(england.due(received, 1), utc(2026, 4, 7, 16, 0))  # Tue 17:00 BST


def test_early_may_bank_holiday(england):
    assert_utc(england.due(london(2026, 5, 1, 10, 0), 1), utc(2026, 5, 5, 9, 0))
    assert_utc(england.counts_from(london(2026, 5, 4, 10, 0)), utc(2026, 5, 5, 8, 0))


def test_spring_bank_holiday(england):
    assert_utc(england.due(london(2026, 5, 22, 10, 0), 1), utc(2026, 5, 26, 9, 0))


def test_late_august_bank_holiday(england):
    assert_utc(england.due(london(2026, 8, 28, 12, 0), 1), utc(2026, 9, 1, 11, 0))
    assert_utc(england.counts_from(london(2026, 8, 31, 12, 0)), utc(2026, 9, 1, 8, 0))


def test_new_years_eve_report_is_due_the_monday_after_new_year(england):
    assert_utc(england.due(london(2026, 12, 31, 10, 0), 1), utc(2027, 1, 4, 10, 0))


def test_christmas_2027_both_substitute_days_are_skipped(england):
    # 25 and 26 Dec 2027 fall on a weekend; Mon 27 and Tue 28 are the substitutes.
    received = london(2027, 12, 24, 10, 0)
    assert_utc(england.due(received, 1), utc(2027, 12, 29, 10, 0))
    assert_utc(england.counts_from(london(2027, 12, 27, 12, 0)), utc(2027, 12, 29, 9, 0))


def test_action_plan_from_christmas_eve_evening(england):
    # Counts Tue 29 Dec 09:00: ten whole working days, 29, 30, 31 Dec, 4-8, 11, 12 Jan.
    received = london(2026, 12, 24, 18, 30)
    assert_utc(england.due(received, 10), utc(2027, 1, 12, 17, 0))


def test_action_plan_spanning_christmas(england):
    # Mon 21 Dec 7 h; 22, 23, 24, 29, 30, 31 Dec, 4, 5, 6 Jan 72 h; Thu 7 Jan 09:00-10:00.
    assert_utc(england.due(london(2026, 12, 21, 10, 0), 10), utc(2027, 1, 7, 10, 0))


# --- Clock changes ---------------------------------------------------------------------------


def test_march_clock_change_first_contact(england):
    received = utc(2026, 3, 27, 16, 0)  # Fri 16:00 GMT
    assert england.is_working_time(received)
    # Fri 16:00-17:00 GMT, then Mon 09:00-16:00 BST: 8 working hours, 71 real hours.
    assert_utc(england.due(received, 1), utc(2026, 3, 30, 15, 0))  # Mon 16:00 BST


def test_march_clock_change_action_plan(england):
    # Fri 27 Mar 1 h; 30, 31 Mar, 1, 2, 7, 8, 9, 10, 13 Apr 72 h (Easter skipped);
    # Tue 14 Apr 09:00-16:00 BST.
    assert_utc(england.due(utc(2026, 3, 27, 16, 0), 10), utc(2026, 4, 14, 15, 0))


def test_march_clock_change_weekend_report(england):
    received = london(2026, 3, 28, 23, 40)  # Sat, GMT
    assert_utc(england.counts_from(received), utc(2026, 3, 30, 8, 0))  # Mon 09:00 BST
    assert_utc(england.due(received, 1), utc(2026, 3, 30, 16, 0))  # Mon 17:00 BST


def test_march_clock_change_edges_in_utc(england):
    assert england.is_working_time(utc(2026, 3, 27, 16, 59))  # 16:59 GMT
    assert not england.is_working_time(utc(2026, 3, 27, 17, 0))  # 17:00 GMT
    assert not england.is_working_time(utc(2026, 3, 30, 7, 59))  # 08:59 BST
    assert england.is_working_time(utc(2026, 3, 30, 8, 0))  # 09:00 BST
    assert england.is_working_time(utc(2026, 3, 30, 15, 59))  # 16:59 BST
    assert not england.is_working_time(utc(2026, 3, 30, 16, 0))  # 17:00 BST


def test_october_clock_change_first_contact(england):
    received = london(2026, 10, 23, 16, 0)  # Fri 16:00 BST = 15:00 UTC
    assert_utc(england.deadlines(received).received_at, utc(2026, 10, 23, 15, 0))
    # Fri 16:00-17:00 BST, then Mon 09:00-16:00 GMT: 8 working hours, 73 real hours.
    assert_utc(england.due(received, 1), utc(2026, 10, 26, 16, 0))  # Mon 16:00 GMT


def test_october_clock_change_out_of_hours(england):
    received = london(2026, 10, 23, 17, 30)  # Fri, BST
    assert_utc(england.counts_from(received), utc(2026, 10, 26, 9, 0))
    assert_utc(england.due(received, 1), utc(2026, 10, 26, 17, 0))


def test_october_clock_change_repeated_hour_is_out_of_hours(england):
    first = dt.datetime(2026, 10, 25, 1, 30, tzinfo=LONDON, fold=0)  # 00:30 UTC
    second = dt.datetime(2026, 10, 25, 1, 30, tzinfo=LONDON, fold=1)  # 01:30 UTC
    for received in (first, second):
        assert_utc(england.counts_from(received), utc(2026, 10, 26, 9, 0))


def test_october_clock_change_edges_in_utc(england):
    assert england.is_working_time(utc(2026, 10, 23, 15, 59))  # 16:59 BST
    assert not england.is_working_time(utc(2026, 10, 23, 16, 0))  # 17:00 BST
    assert not england.is_working_time(utc(2026, 10, 26, 8, 59))  # 08:59 GMT
    assert england.is_working_time(utc(2026, 10, 26, 9, 0))  # 09:00 GMT


# --- Deadlines --------------------------------------------------------------------------------


def test_deadlines_for_an_out_of_hours_report(england):
    deadlines = england.deadlines(london(2026, 12, 24, 18, 30))
    assert deadlines == Deadlines(
        received_at=utc(2026, 12, 24, 18, 30),
        counts_from=utc(2026, 12, 29, 9, 0),
        out_of_hours=True,
        first_contact_due=utc(2026, 12, 29, 17, 0),
        action_plan_due=utc(2027, 1, 12, 17, 0),
    )
    for field in dataclasses.fields(Deadlines):
        value = getattr(deadlines, field.name)
        if isinstance(value, dt.datetime):
            assert value.utcoffset() == dt.timedelta(0)


def test_deadlines_for_an_in_hours_report_in_summer(england):
    deadlines = england.deadlines(london(2026, 6, 10, 11, 15))  # Wednesday, BST
    assert deadlines.out_of_hours is False
    assert_utc(deadlines.received_at, utc(2026, 6, 10, 10, 15))
    assert_utc(deadlines.counts_from, utc(2026, 6, 10, 10, 15))
    assert_utc(deadlines.first_contact_due, utc(2026, 6, 11, 10, 15))
    # Wed 10 Jun 5 h 45; 11, 12, 15-19, 22, 23 June 72 h; Wed 24 June 09:00-11:15.
    assert_utc(deadlines.action_plan_due, utc(2026, 6, 24, 10, 15))


def test_deadlines_are_frozen(england):
    deadlines = england.deadlines(london(2026, 1, 12, 10, 0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        deadlines.out_of_hours = True  # type: ignore[misc]


# --- Nations ----------------------------------------------------------------------------------


def test_wales_has_the_same_working_days_as_england(england, wales):
    day = dt.date(2026, 1, 1)
    while day < dt.date(2028, 1, 1):
        assert wales.is_working_day(day) == england.is_working_day(day), day
        day += dt.timedelta(days=1)
    assert not wales.is_working_day(dt.date(2026, 4, 6))  # Easter Monday
    assert not wales.is_working_day(dt.date(2026, 8, 31))


def test_scotland_second_of_january(england, scotland):
    assert not scotland.is_working_day(dt.date(2026, 1, 2))  # Friday
    assert england.is_working_day(dt.date(2026, 1, 2))
    # 2 Jan 2027 is a Saturday and a Scottish holiday; Mon 4 Jan is its substitute.
    assert scotland.is_holiday(dt.date(2027, 1, 2))
    assert not england.is_holiday(dt.date(2027, 1, 2))
    assert not scotland.is_working_day(dt.date(2027, 1, 4))
    assert england.is_working_day(dt.date(2027, 1, 4))


def test_scotland_new_year_report_counts_a_day_later_than_england(england, scotland):
    received = london(2026, 12, 31, 18, 0)
    assert_utc(scotland.counts_from(received), utc(2027, 1, 5, 9, 0))
    assert_utc(scotland.due(received, 1), utc(2027, 1, 5, 17, 0))
    assert_utc(england.counts_from(received), utc(2027, 1, 4, 9, 0))
    assert_utc(england.due(received, 1), utc(2027, 1, 4, 17, 0))


def test_scotland_summer_bank_holiday_is_the_first_monday_of_august(england, scotland):
    assert not scotland.is_working_day(dt.date(2026, 8, 3))
    assert scotland.is_working_day(dt.date(2026, 8, 31))
    assert not england.is_working_day(dt.date(2026, 8, 31))
    received = london(2026, 7, 31, 10, 0)  # Friday, BST
    assert_utc(scotland.due(received, 1), utc(2026, 8, 4, 9, 0))
    assert_utc(england.due(received, 1), utc(2026, 8, 3, 9, 0))


def test_scotland_easter_and_st_andrew(england, scotland):
    assert not scotland.is_working_day(dt.date(2026, 4, 3))  # Good Friday
    assert scotland.is_working_day(dt.date(2026, 4, 6))  # no Easter Monday
    assert not scotland.is_working_day(dt.date(2026, 11, 30))  # St Andrew's Day, Monday
    assert england.is_working_day(dt.date(2026, 11, 30))


def test_northern_ireland_holidays(england, northern_ireland):
    assert not northern_ireland.is_working_day(dt.date(2026, 3, 17))  # St Patrick's, Tuesday
    assert not northern_ireland.is_working_day(dt.date(2026, 7, 13))  # Boyne, observed
    assert england.is_working_day(dt.date(2026, 3, 17))
    assert england.is_working_day(dt.date(2026, 7, 13))


# --- Custom working hours ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_week() -> WorkingCalendar:
    return WorkingCalendar(
        WorkingHours(start=dt.time(8, 30), end=dt.time(16, 30), weekdays=frozenset({0, 1, 2, 3}))
    )


def test_custom_hours_friday_is_not_a_working_day(short_week):
    assert short_week.is_working_day(dt.date(2026, 6, 11))  # Thursday
    assert not short_week.is_working_day(dt.date(2026, 6, 12))  # Friday


def test_custom_hours_thursday_afternoon_is_due_monday(short_week):
    received = london(2026, 6, 11, 16, 0)
    assert short_week.is_working_time(received)
    # Thu 16:00-16:30, Friday closed, Mon 08:30-16:00 BST.
    assert_utc(short_week.due(received, 1), utc(2026, 6, 15, 15, 0))


def test_custom_hours_closing_time_is_out_of_hours(short_week):
    received = london(2026, 6, 11, 16, 30)
    assert not short_week.is_working_time(received)
    assert_utc(short_week.counts_from(received), utc(2026, 6, 15, 7, 30))  # 08:30 BST
    assert_utc(short_week.due(received, 1), utc(2026, 6, 15, 15, 30))  # 16:30 BST


def test_custom_hours_friday_report_counts_from_monday(short_week):
    assert_utc(short_week.counts_from(london(2026, 6, 12, 10, 0)), utc(2026, 6, 15, 7, 30))


def test_custom_hours_opening_edges(short_week):
    assert not short_week.is_working_time(london(2026, 6, 15, 8, 29))
    assert short_week.is_working_time(london(2026, 6, 15, 8, 30))
    assert short_week.is_working_time(london(2026, 6, 15, 16, 29, 59))


def test_custom_hours_working_seconds(short_week):
    # Thu 16:00-16:30, Friday closed, weekend, Mon 08:30-09:00.
    seconds = short_week.working_seconds_between(
        london(2026, 6, 11, 16, 0), london(2026, 6, 15, 9, 0)
    )
    assert seconds == 3600.0


def test_custom_time_zone_is_used_for_hours():
    utc_office = WorkingCalendar(WorkingHours(timezone="UTC"))
    received = london(2026, 6, 15, 17, 30)  # 16:30 UTC
    assert utc_office.is_working_time(received)
    assert_utc(utc_office.due(received, 1), utc(2026, 6, 16, 16, 30))


# --- Working seconds --------------------------------------------------------------------------


def test_working_seconds_within_one_day(england):
    seconds = england.working_seconds_between(
        london(2026, 1, 12, 10, 0), london(2026, 1, 12, 11, 30)
    )
    assert seconds == 5400.0


def test_working_seconds_over_a_weekend(england):
    # Fri 15:30-17:00 and Mon 09:00-10:15.
    seconds = england.working_seconds_between(
        london(2026, 1, 16, 15, 30), london(2026, 1, 19, 10, 15)
    )
    assert seconds == 1.5 * HOUR + 1.25 * HOUR


def test_working_seconds_over_easter(england):
    seconds = england.working_seconds_between(london(2026, 4, 2, 16, 0), london(2026, 4, 7, 10, 0))
    assert seconds == 2 * HOUR


def test_working_seconds_over_christmas(england):
    # Thu 24 Dec 12:00-17:00, then nothing until Tue 29 Dec 09:00-12:00.
    seconds = england.working_seconds_between(
        london(2026, 12, 24, 12, 0), london(2026, 12, 29, 12, 0)
    )
    assert seconds == 8 * HOUR


def test_working_seconds_across_the_march_clock_change(england):
    # Fri 16:00-17:00 GMT and Mon 09:00-10:00 BST: 65 hours apart on the UTC clock.
    seconds = england.working_seconds_between(utc(2026, 3, 27, 16, 0), utc(2026, 3, 30, 9, 0))
    assert seconds == 2 * HOUR


def test_working_seconds_are_negative_when_reversed(england):
    seconds = england.working_seconds_between(
        london(2026, 1, 19, 10, 15), london(2026, 1, 16, 15, 30)
    )
    assert seconds == -(2.75 * HOUR)


def test_working_seconds_outside_hours_are_zero(england):
    assert england.working_seconds_between(london(2026, 1, 17, 9), london(2026, 1, 18, 20)) == 0.0
    assert england.working_seconds_between(london(2026, 1, 12, 17), london(2026, 1, 13, 9)) == 0.0


def test_working_seconds_over_the_whole_of_2026(england):
    # 261 weekdays less 8 weekday bank holidays = 253 working days of 8 hours.
    seconds = england.working_seconds_between(london(2026, 1, 1), london(2027, 1, 1))
    assert seconds == 253 * 8 * HOUR


def test_working_seconds_keep_fractions(england):
    start = london(2026, 1, 12, 16, 59, 59)
    end = start + dt.timedelta(microseconds=1_500_000)
    assert england.working_seconds_between(start, end) == 1.0


# --- Naive instants and validation ------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c, t: c.is_working_time(t),
        lambda c, t: c.counts_from(t),
        lambda c, t: c.due(t, 1),
        lambda c, t: c.deadlines(t),
        lambda c, t: c.working_seconds_between(t, london(2026, 1, 12)),
        lambda c, t: c.working_seconds_between(london(2026, 1, 12), t),
    ],
)
def test_naive_datetimes_are_rejected(england, call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(england, dt.datetime(2026, 1, 12, 10, 0))


def test_defaults_match_the_policy():
    hours = WorkingHours()
    assert hours.start == dt.time(9, 0)
    assert hours.end == dt.time(17, 0)
    assert hours.weekdays == frozenset({0, 1, 2, 3, 4})
    assert hours.timezone == "Europe/London"
    assert hours.nation == "england"
    assert WorkingCalendar().hours == hours


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": dt.time(17, 0), "end": dt.time(9, 0)}, "start"),
        ({"start": dt.time(9, 0), "end": dt.time(9, 0)}, "start"),
        ({"start": "09:00"}, "start"),
        ({"end": dt.time(17, 0, tzinfo=UTC)}, "end"),
        ({"weekdays": frozenset()}, "weekdays"),
        ({"weekdays": frozenset({0, 7})}, "weekdays"),
        ({"weekdays": frozenset({-1, 2})}, "weekdays"),
        ({"weekdays": [0, 1, 2]}, "weekdays"),
        ({"nation": "cornwall"}, "nation"),
        ({"nation": "England"}, "nation"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"timezone": "../etc/passwd"}, "timezone"),
    ],
)
def test_invalid_working_hours_name_the_bad_field(kwargs, field):
    with pytest.raises(ValueError, match=rf"WorkingHours\.{field}"):
        WorkingHours(**kwargs)


def test_working_hours_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        WorkingHours().nation = "scotland"  # type: ignore[misc]


def test_working_seconds_count_real_time_across_a_night_time_clock_change():
    # A round-the-clock service works through the change: 00:30-03:00 on the wall clock is
    # 1.5 real hours in March (01:00 GMT jumps to 02:00 BST) and 3.5 in October.
    always_open = WorkingCalendar(
        WorkingHours(start=dt.time(0, 0), end=dt.time(23, 59), weekdays=frozenset(range(7)))
    )
    march = always_open.working_seconds_between(london(2026, 3, 29, 0, 30), london(2026, 3, 29, 3))
    assert march == 1.5 * HOUR
    october = always_open.working_seconds_between(
        london(2026, 10, 25, 0, 30), london(2026, 10, 25, 3)
    )
    assert october == 3.5 * HOUR
