"""Business-time arithmetic: properties over random calendars, including daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from regulars.sla.business_time import (
    CALENDAR_TIME,
    CalendarSpec,
    ClosedCalendarError,
    DayHours,
    add_business_time,
    business_time_between,
    is_open,
)

ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
HOLIDAYS = {
    "Europe/London": ("GB", "ENG"),
    "America/New_York": ("US", "NY"),
    "Australia/Sydney": ("AU", "NSW"),
}
OFFICE: tuple[DayHours, ...] = (((540, 1020),),) * 5 + ((), ())

# Around every daylight-saving change of 2024-2026 in the three zones (and plenty between).
# hypothesis wants naive bounds and adds the time zone itself.
MOMENTS = st.datetimes(
    min_value=datetime(2024, 1, 1),  # noqa: DTZ001
    max_value=datetime(2026, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@st.composite
def day_hours(draw: st.DrawFn) -> DayHours:
    cuts = sorted(set(draw(st.lists(st.integers(0, 96), min_size=0, max_size=4))))
    pairs = [(cuts[i] * 15, cuts[i + 1] * 15) for i in range(0, len(cuts) - 1, 2)]
    return tuple((a, b) for a, b in pairs if a < b)


@st.composite
def specs(draw: st.DrawFn) -> CalendarSpec:
    zone = draw(st.sampled_from(ZONES))
    weekly = tuple(draw(day_hours()) for _ in range(7))
    if not any(weekly):
        weekly = OFFICE
    country, subdivision = HOLIDAYS.get(zone, ("", "")) if draw(st.booleans()) else ("", "")
    exceptions = tuple(
        sorted(
            {
                d: draw(day_hours())
                for d in draw(st.lists(st.dates(date(2024, 1, 1), date(2027, 1, 1)), max_size=5))
            }.items()
        )
    )
    return CalendarSpec(zone, weekly, country, subdivision, exceptions)


DURATIONS = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=40))


def fits(spec: CalendarSpec, duration: timedelta) -> bool:
    """Within half a year of weekly hours (holidays aside): the calendar is not searched forever."""
    weekly_minutes = sum(b - a for day in spec.weekly for a, b in day)
    return duration <= timedelta(minutes=weekly_minutes * 26)


def naive_open(spec: CalendarSpec, moment: datetime) -> bool:
    """An independent check by wall-clock time: is this instant inside the local day's hours?"""
    local = moment.astimezone(ZoneInfo(spec.time_zone))
    minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
    return any(a <= minute < b for a, b in spec.hours_on(local.date()))


@settings(max_examples=300, deadline=None)
@given(spec=specs(), start=MOMENTS, duration=DURATIONS)
def test_it_round_trips_adding_then_measuring(
    spec: CalendarSpec, start: datetime, duration: timedelta
) -> None:
    assume(fits(spec, duration))
    end = add_business_time(spec, start, duration)
    assert end >= start
    assert business_time_between(spec, start, end) == duration


@settings(max_examples=300, deadline=None)
@given(spec=specs(), start=MOMENTS, duration=DURATIONS)
def test_it_never_lands_in_closed_hours_or_holidays(
    spec: CalendarSpec, start: datetime, duration: timedelta
) -> None:
    assume(fits(spec, duration))
    end = add_business_time(spec, start, duration)
    just_before = end - timedelta(microseconds=1)
    # The result is inside an open interval or exactly at its end.
    assert is_open(spec, just_before)
    assert naive_open(spec, just_before)


@settings(max_examples=200, deadline=None)
@given(spec=specs(), a=MOMENTS, b=MOMENTS, c=MOMENTS)
def test_it_measures_additively_and_monotonically(
    spec: CalendarSpec, a: datetime, b: datetime, c: datetime
) -> None:
    a, b, c = sorted((a, b, c))
    assert business_time_between(spec, a, c) == business_time_between(spec, a, b) + business_time_between(
        spec, b, c
    )
    assert business_time_between(spec, a, c) <= c - a


@given(start=MOMENTS, duration=DURATIONS)
def test_it_treats_24_7_as_calendar_time(start: datetime, duration: timedelta) -> None:
    assert add_business_time(CALENDAR_TIME, start, duration) == start + duration


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/London", date(2025, 3, 30), 23),  # clocks go forward
        ("Europe/London", date(2025, 10, 26), 25),  # clocks go back
        ("America/New_York", date(2025, 3, 9), 23),
        ("America/New_York", date(2025, 11, 2), 25),
        ("Australia/Sydney", date(2025, 4, 6), 25),  # southern hemisphere: back in April
        ("Australia/Sydney", date(2025, 10, 5), 23),  # forward in October
    ],
)
def test_it_counts_the_real_length_of_a_daylight_saving_day(zone: str, day: date, hours: int) -> None:
    every_day_all_day = CalendarSpec(zone, (((0, 1440),),) * 6 + ((),))  # closed Sundays: not 24/7
    tz = ZoneInfo(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    sunday = day.weekday() == 6
    expected = timedelta(0) if sunday else timedelta(hours=hours)
    assert business_time_between(every_day_all_day, start, end) == expected
    daily = CalendarSpec(zone, (((0, 1440),),) * 7, exceptions=((date(2000, 1, 1), ()),))
    assert business_time_between(daily, start, end) == timedelta(hours=hours)


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Australia/Sydney"])
def test_it_keeps_office_hours_in_local_time_across_daylight_saving(zone: str) -> None:
    tz = ZoneInfo(zone)
    spec = CalendarSpec(zone, OFFICE)
    for month in range(1, 13):
        start = datetime(2025, month, 3, 8, 0, tzinfo=tz)
        due = add_business_time(spec, start, timedelta(hours=1)).astimezone(tz)
        assert (due.hour, due.minute) == (10, 0), (month, due)
        assert due.weekday() < 5


def test_it_refuses_a_calendar_that_never_opens() -> None:
    never = CalendarSpec("UTC", ((),) * 7)
    with pytest.raises(ClosedCalendarError):
        add_business_time(never, datetime(2025, 1, 1, tzinfo=UTC), timedelta(minutes=1))


def test_it_skips_whole_years_of_closed_time_quickly() -> None:
    spec = CalendarSpec(
        "Europe/London", ((), (), (), (), (), (), ()), exceptions=((date(2031, 5, 1), ((540, 600),)),)
    )
    due = add_business_time(spec, datetime(2025, 1, 1, tzinfo=UTC), timedelta(minutes=30))
    assert due.astimezone(ZoneInfo("Europe/London")) == datetime(
        2031, 5, 1, 9, 30, tzinfo=ZoneInfo("Europe/London")
    )
