from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest

from regulars.accounts.models import User
from regulars.api.ratelimit import reset
from regulars.api.tests.conftest import Api, token
from regulars.core import events
from regulars.core.testing import Cast
from regulars.sla.models import BusinessCalendar
from regulars.sla.services import create_calendar

LONDON = ZoneInfo("Europe/London")
WEEKDAYS_9_TO_6 = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


class Clock:
    """Time stands still at whatever moment the test names; on-commit work runs at once."""

    def __init__(self, capture: Callable[..., Any]) -> None:
        self.capture = capture

    @contextmanager
    def at(self, moment: datetime) -> Iterator[None]:
        with patch("django.utils.timezone.now", return_value=moment), self.capture(execute=True):
            yield


@pytest.fixture
def clock(django_capture_on_commit_callbacks: Callable[..., Any]) -> Clock:
    return Clock(django_capture_on_commit_callbacks)


@pytest.fixture
def raised() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(name: str, payload: dict[str, Any]) -> None:
        seen.append((name, payload))

    for name in ("sla.at_risk", "sla.breached"):
        events.subscribe(name, record)
    yield seen
    for name in ("sla.at_risk", "sla.breached"):
        events.unsubscribe(name, record)


@pytest.fixture
def office(db: None) -> BusinessCalendar:
    """London office, weekdays 09:00-18:00, English public holidays."""
    return create_calendar(
        name="London office",
        time_zone="Europe/London",
        weekly_hours=WEEKDAYS_9_TO_6,
        holiday_country="GB",
        holiday_subdivision="ENG",
    )


@pytest.fixture(autouse=True)
def _fresh_budgets() -> Iterator[None]:
    reset()
    yield
    reset()


@pytest.fixture
def api_as(cast: Cast) -> Callable[[User], Api]:
    return lambda user: Api(token(user))
