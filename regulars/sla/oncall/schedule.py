"""Pure time arithmetic: shifts of a rotation and a policy's business hours.

Everything is computed in the local wall time of the rotation or policy, so a 09:00 hand-off is
09:00 on both sides of a daylight-saving change, and a shift across the change is simply an
hour shorter or longer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from regulars.core.errors import ValidationFailed

WEEKDAYS = ("0", "1", "2", "3", "4", "5", "6")


def zone(name: str, field: str = "time_zone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"Unknown time zone {name!r}.", fields={field: "unknown time zone"}) from None


@dataclass(frozen=True)
class Shift:
    """The ``index``-th shift of a rotation (0 is the first), from ``start`` to ``end``."""

    index: int
    start: datetime
    end: datetime


def shift_at(
    *, time_zone: str, cadence: str, handoff_time: time, handoff_weekday: int, starts_on: date, at: datetime
) -> Shift:
    """The shift containing the instant ``at``. Works before ``starts_on`` too (negative index)."""
    tz = zone(time_zone)
    local = at.astimezone(tz)
    day = local.date()
    if cadence == "daily":
        period = 1
        anchor = starts_on
        if local.time().replace(tzinfo=None) < handoff_time:
            day -= timedelta(days=1)
    else:
        period = 7
        anchor = starts_on - timedelta(days=(starts_on.weekday() - handoff_weekday) % 7)
        back = (day.weekday() - handoff_weekday) % 7
        day -= timedelta(days=back)
        if back == 0 and local.time().replace(tzinfo=None) < handoff_time:
            day -= timedelta(days=7)
    index = (day - anchor).days // period
    # In UTC, because Python subtracts two datetimes of the same zone as wall times, which
    # would hide the hour a daylight-saving change adds to or takes from a shift.
    start = datetime.combine(day, handoff_time, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=period), handoff_time, tzinfo=tz).astimezone(UTC)
    return Shift(index=index, start=start, end=end)


def _minutes(text: Any, field: str) -> int:
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise ValidationFailed("Times are HH:MM.", fields={field: "not HH:MM"})
    try:
        hours, minutes = int(text[:2]), int(text[3:])
    except ValueError:
        raise ValidationFailed("Times are HH:MM.", fields={field: "not HH:MM"}) from None
    if not (0 <= minutes < 60 and (0 <= hours < 24 or (hours == 24 and minutes == 0))):
        raise ValidationFailed("Times are HH:MM between 00:00 and 24:00.", fields={field: "out of range"})
    return hours * 60 + minutes


def clean_business_hours(spec: Any) -> dict[str, list[list[str]]]:
    """Check a business-hours spec: ``{"0": [["09:00", "17:00"]], ...}``, "0" being Monday.

    Intervals must not be empty, cross midnight or overlap within a day.
    """
    if not isinstance(spec, dict):
        raise ValidationFailed(
            "Business hours map weekdays to intervals.", fields={"business_hours": "invalid"}
        )
    cleaned: dict[str, list[list[str]]] = {}
    for key, intervals in spec.items():
        field = f"business_hours.{key}"
        if key not in WEEKDAYS:
            raise ValidationFailed("Weekdays are 0 (Monday) to 6.", fields={field: "unknown weekday"})
        if not isinstance(intervals, list):
            raise ValidationFailed("Each weekday has a list of intervals.", fields={field: "invalid"})
        spans = []
        for pair in intervals:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValidationFailed("An interval is [start, end].", fields={field: "invalid"})
            start, end = _minutes(pair[0], field), _minutes(pair[1], field)
            if start >= end:
                raise ValidationFailed("An interval ends after it starts.", fields={field: "empty interval"})
            spans.append((start, end, [pair[0], pair[1]]))
        spans.sort()
        for (_, end, _), (start, _, _) in pairwise(spans):
            if start < end:
                raise ValidationFailed("Intervals overlap.", fields={field: "overlap"})
        if spans:
            cleaned[key] = [span[2] for span in spans]
    return cleaned


def in_business_hours(spec: dict[str, list[list[str]]], time_zone: str, at: datetime) -> bool:
    """Whether ``at`` falls inside the weekly business hours ``spec`` (local to ``time_zone``).

    A deliberately small rule set (weekly intervals only, no holidays) kept per escalation
    policy. It will be switched to the shared ``regulars.sla`` business calendar, which adds
    holidays and exceptions, once that calendar exists; callers only use this one function.
    """
    local = at.astimezone(zone(time_zone))
    minute = local.hour * 60 + local.minute
    for start, end in spec.get(str(local.weekday()), []):
        if _minutes(start, "business_hours") <= minute < _minutes(end, "business_hours"):
            return True
    return False
