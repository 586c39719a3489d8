"""Business-time arithmetic: pure functions over a ``CalendarSpec``, no database.

Opening hours are wall-clock intervals per weekday in the calendar's time zone. Each local day's
intervals are converted to UTC with zoneinfo, so a day of 23 or 25 hours (daylight-saving change)
counts exactly the time that really passes. Why an index: the periodic job recomputes due times
for every open ticket (1M in under a minute), so instead of walking day by day we build, once per
calendar and local year, the UTC intervals of every day and a running total of open time. Adding
business time is then two binary searches, however many closed days, weekends or holidays it
skips; a year is built in a few milliseconds and cached.

Conventions: intervals are half-open ``[start, end)``. Adding a positive duration returns the
earliest instant at which that much open time has passed, so a result is never inside closed
hours: it is inside an open interval or exactly at its end (``17:00`` on the day the time runs
out, not ``09:00`` the next morning). Adding zero returns ``start`` unchanged.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

Interval = tuple[int, int]  # minutes after local midnight, 0 <= start < end <= 1440
DayHours = tuple[Interval, ...]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
FULL_DAY: DayHours = ((0, 1440),)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_YEARS_AHEAD = 30  # a calendar with (almost) no open hours must not loop forever


class ClosedCalendarError(ValueError):
    """The calendar has no open time in which the duration could elapse."""


def check_day_hours(hours: DayHours) -> None:
    previous_end = 0
    for start, end in hours:
        if not (0 <= start < end <= 1440):
            raise ValueError(f"interval {start}-{end} is not within one day")
        if start < previous_end:
            raise ValueError("intervals must be sorted and must not overlap")
        previous_end = end


@dataclass(frozen=True)
class CalendarSpec:
    """Everything business-time arithmetic needs to know about a calendar, as plain values.

    ``weekly`` has seven entries, Monday first. ``exceptions`` map a date to its special hours
    (an empty tuple means closed: that is how custom holidays are written). Exceptions win over
    public holidays, which win over the weekly hours.
    """

    time_zone: str = "UTC"
    weekly: tuple[DayHours, ...] = (FULL_DAY,) * 7
    holiday_country: str = ""
    holiday_subdivision: str = ""
    exceptions: tuple[tuple[date, DayHours], ...] = ()
    _hash: int = field(default=0, init=False, repr=False, compare=False)
    _always_open: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("weekly hours need seven days, Monday first")
        for day in (*self.weekly, *(hours for _, hours in self.exceptions)):
            check_day_hours(day)
        ZoneInfo(self.time_zone)  # fails loudly on an unknown zone
        # Specs are cache keys on the hot path; hash once.
        key = (self.time_zone, self.weekly, self.holiday_country, self.holiday_subdivision, self.exceptions)
        object.__setattr__(self, "_hash", hash(key))
        always = (
            all(day == FULL_DAY for day in self.weekly) and not self.holiday_country and not self.exceptions
        )
        object.__setattr__(self, "_always_open", always)

    def __hash__(self) -> int:
        return self._hash

    @property
    def always_open(self) -> bool:
        """24/7: business time is calendar time."""
        return self._always_open

    def hours_on(self, day: date) -> DayHours:
        """The open intervals of one local date."""
        for exception_day, hours in self.exceptions:
            if exception_day == day:
                return hours
        if self.holiday_country and day in _holidays(
            self.holiday_country, self.holiday_subdivision, day.year
        ):
            return ()
        return self.weekly[day.weekday()]


CALENDAR_TIME = CalendarSpec()


@lru_cache(maxsize=512)
def _holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    found = holidays_lib.country_holidays(country, subdiv=subdivision or None, years=year)
    return frozenset(found.keys())


def holiday_names(country: str, subdivision: str, year: int) -> list[tuple[date, str]]:
    found = holidays_lib.country_holidays(country, subdiv=subdivision or None, years=year)
    return sorted(found.items())


def _us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("business time needs aware datetimes")
    return (moment - EPOCH) // ONE_US


def _dt(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


class _Year:
    """One local year of one calendar: UTC open intervals per day and running totals."""

    __slots__ = ("cum", "day_starts", "end_us", "intervals", "start_us", "total")

    def __init__(self, spec: CalendarSpec, year: int) -> None:
        zone = ZoneInfo(spec.time_zone)

        def local(day: date, minute: int) -> int:
            if minute == 1440:
                day, minute = day + timedelta(days=1), 0
            return _us(datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone))

        first = date(year, 1, 1)
        ndays = (date(year + 1, 1, 1) - first).days
        self.day_starts: list[int] = []
        self.intervals: list[list[tuple[int, int]]] = []
        self.cum: list[int] = [0]
        running = 0
        for offset in range(ndays):
            day = first + timedelta(days=offset)
            day_start = local(day, 0)
            self.day_starts.append(day_start)
            converted: list[tuple[int, int]] = []
            floor = day_start
            for start, end in spec.hours_on(day):
                # Wall times inside a spring-forward gap map past the next valid time; keep the
                # intervals ordered and non-overlapping anyway.
                s = max(local(day, start), floor)
                e = max(local(day, end), s)
                if e > s:
                    converted.append((s, e))
                    running += e - s
                floor = e
            self.intervals.append(converted)
            self.cum.append(running)
        self.start_us = self.day_starts[0]
        self.end_us = local(date(year + 1, 1, 1), 0)
        self.total = running

    def position(self, us: int) -> int:
        """Open microseconds of this year before ``us`` (clamped to the year)."""
        if us <= self.start_us:
            return 0
        if us >= self.end_us:
            return self.total
        i = bisect_right(self.day_starts, us) - 1
        pos = self.cum[i]
        for s, e in self.intervals[i]:
            if us <= s:
                break
            pos += min(us, e) - s
        return pos

    def instant(self, pos: int) -> int:
        """The earliest moment at which ``pos`` open microseconds of this year have passed."""
        assert 0 < pos <= self.total
        i = bisect_left(self.cum, pos) - 1
        remaining = pos - self.cum[i]
        for s, e in self.intervals[i]:
            if remaining <= e - s:
                return s + remaining
            remaining -= e - s
        raise AssertionError("running totals and intervals disagree")


@lru_cache(maxsize=2048)
def _year(spec: CalendarSpec, year: int) -> _Year:
    return _Year(spec, year)


def _local_year(spec: CalendarSpec, moment: datetime) -> int:
    return moment.astimezone(ZoneInfo(spec.time_zone)).year


def add_business_time(spec: CalendarSpec, start: datetime, duration: timedelta) -> datetime:
    """The moment at which ``duration`` of open time has passed since ``start`` (UTC)."""
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    if duration == timedelta(0):
        return start
    if spec.always_open:
        return start + duration
    year = _local_year(spec, start)
    index = _year(spec, year)
    target = index.position(_us(start)) + duration // ONE_US
    for _ in range(MAX_YEARS_AHEAD):
        if target <= index.total:
            return _dt(index.instant(target))
        target -= index.total
        year += 1
        index = _year(spec, year)
    raise ClosedCalendarError("the calendar has no open hours in which this time could pass")


def business_time_between(spec: CalendarSpec, start: datetime, end: datetime) -> timedelta:
    """Open time from ``start`` to ``end``; zero when ``end`` is not after ``start``."""
    if end <= start:
        return timedelta(0)
    if spec.always_open:
        return end - start
    first, last = _local_year(spec, start), _local_year(spec, end)
    s, e = _us(start), _us(end)
    total = 0
    for year in range(first, last + 1):
        index = _year(spec, year)
        total += index.position(e) - index.position(s)
    return timedelta(microseconds=total)


def is_open(spec: CalendarSpec, moment: datetime) -> bool:
    """Whether ``moment`` falls inside an open interval ``[start, end)``."""
    if spec.always_open:
        return True
    index = _year(spec, _local_year(spec, moment))
    us = _us(moment)
    i = bisect_right(index.day_starts, us) - 1
    return any(s <= us < e for s, e in index.intervals[max(i, 0)])


def parse_hhmm(text: str) -> int:
    hours, _, minutes = text.partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not (0 <= value <= 1440) or not minutes or len(minutes) != 2:
        raise ValueError(f"{text!r} is not a time of day (HH:MM)")
    return value


def format_hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_day_hours(pairs: list[list[str]] | list[tuple[str, str]]) -> DayHours:
    """``[["09:00", "12:00"], ["13:00", "17:30"]]`` -> ``((540, 720), (780, 1050))``, validated."""
    hours = tuple((parse_hhmm(a), parse_hhmm(b)) for a, b in pairs)
    check_day_hours(hours)
    return hours


def format_day_hours(hours: DayHours) -> list[list[str]]:
    return [[format_hhmm(a), format_hhmm(b)] for a, b in hours]
