"""A policy with a business calendar asks that calendar (holidays included) what "after hours"
means: an urgent ticket at 11:00 on Christmas Day pages, the same hour on a working day does not."""

from __future__ import annotations

from typing import Any

import pytest

from regulars.core.testing import Cast
from regulars.sla.oncall import handlers
from regulars.sla.oncall.models import Incident
from regulars.sla.oncall.services import LevelSpec, create_escalation_policy
from regulars.sla.oncall.tests.conftest import at
from regulars.sla.services import create_calendar
from regulars.tickets.models import Priority
from regulars.tickets.services import open_ticket

CHRISTMAS_MORNING = at("2025-12-25T11:00:00+00:00")  # a Thursday, a bank holiday in England
ORDINARY_MORNING = at("2025-12-18T11:00:00+00:00")  # the Thursday before


@pytest.fixture
def calendar_policy(cast: Cast) -> None:
    office = create_calendar(
        name="London office",
        time_zone="Europe/London",
        weekly_hours={d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        holiday_country="GB",
        holiday_subdivision="ENG",
        actor=cast.alice,
    )
    policy = create_escalation_policy(
        name="Office", levels=[LevelSpec(agent=cast.bob)], is_default=True, calendar=office
    )
    assert policy.calendar == office


@pytest.mark.parametrize(("when", "pages"), [(CHRISTMAS_MORNING, True), (ORDINARY_MORNING, False)])
def test_it_pages_on_holidays_but_not_in_office_hours(
    cast: Cast, calendar_policy: None, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any,
    when: Any, pages: bool,
) -> None:  # fmt: skip
    monkeypatch.setattr(handlers, "now", lambda: when)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(
            subject="Checkout down", body="Nothing works", requester=cast.carol, actor=cast.bob,
            priority=Priority.URGENT,
        )  # fmt: skip
    assert Incident.objects.filter(ticket=ticket).exists() is pages
