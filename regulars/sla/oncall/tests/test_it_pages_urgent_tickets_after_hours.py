"""An urgent ticket outside business hours opens one incident and pages level 1, reacting to events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.core import mail

from regulars.core.testing import Cast
from regulars.customers.services import block_customer
from regulars.sla.oncall import handlers
from regulars.sla.oncall.models import EscalationPolicy, Incident, Page
from regulars.sla.oncall.services import LevelSpec, consider_ticket, create_escalation_policy
from regulars.sla.oncall.tests.conftest import at
from regulars.tickets.models import Priority, Ticket
from regulars.tickets.services import open_ticket, update_ticket

SATURDAY_NIGHT = at("2025-03-08T22:00:00+00:00")
MONDAY_MORNING = at("2025-03-10T10:00:00+00:00")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    def set_to(when: datetime) -> None:
        monkeypatch.setattr(handlers, "now", lambda: when)

    return set_to


def open_urgent(cast: Cast, capture: Any, **kw: Any) -> Ticket:
    # Opened by an agent: a priority an agent chooses is theirs, so the priority policy (which
    # reacts first) keeps it rather than re-deriving it from the words.
    with capture(execute=True):
        return open_ticket(
            subject="Site down", body="Nothing loads", requester=cast.carol, actor=cast.bob, **kw
        )


def test_it_pages_the_on_call_person_for_an_urgent_ticket_on_saturday_night(
    cast: Cast, policy: EscalationPolicy, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    clock(SATURDAY_NIGHT)
    ticket = open_urgent(cast, django_capture_on_commit_callbacks, priority=Priority.URGENT)

    incident = Incident.objects.get(ticket=ticket)
    assert (incident.policy, incident.triggered_at, incident.current_level) == (policy, SATURDAY_NIGHT, 1)
    page = Page.objects.get(incident=incident)
    assert (page.recipient, page.channel, page.level, page.attempt, page.outcome) == (
        cast.bob,
        "email",
        1,
        1,
        "sent",
    )
    assert [m.to for m in mail.outbox if "needs you" in m.subject] == [["bob@regulars.test"]]


def test_it_does_not_page_during_business_hours(
    cast: Cast, policy: EscalationPolicy, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    clock(MONDAY_MORNING)
    open_urgent(cast, django_capture_on_commit_callbacks, priority=Priority.URGENT)
    assert not Incident.objects.exists()


def test_it_does_not_page_for_a_ticket_that_is_not_urgent(
    cast: Cast, policy: EscalationPolicy, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    clock(SATURDAY_NIGHT)
    open_urgent(cast, django_capture_on_commit_callbacks, priority=Priority.HIGH)
    assert not Incident.objects.exists()


def test_it_pages_when_a_ticket_becomes_urgent_and_only_once(
    cast: Cast, policy: EscalationPolicy, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    clock(SATURDAY_NIGHT)
    ticket = open_urgent(cast, django_capture_on_commit_callbacks, priority=Priority.HIGH)
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(ticket, actor=cast.bob, priority=Priority.URGENT, priority_reason="whole site down")
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(ticket, actor=cast.bob, priority=Priority.HIGH, priority_reason="partly back")
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(ticket, actor=cast.bob, priority=Priority.URGENT, priority_reason="down again")
    consider_ticket(ticket.pk, now=SATURDAY_NIGHT)

    assert Incident.objects.filter(ticket=ticket).count() == 1
    assert Page.objects.count() == 1


def test_it_never_pages_for_a_blocked_customer(
    cast: Cast, policy: EscalationPolicy, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    block_customer(cast.carol, reason="abuse", actor=cast.alice)
    clock(SATURDAY_NIGHT)
    ticket = open_urgent(cast, django_capture_on_commit_callbacks, priority=Priority.URGENT)

    assert not Incident.objects.exists()
    assert consider_ticket(ticket.pk, now=SATURDAY_NIGHT) is None


def test_it_uses_the_team_policy_before_the_default(
    cast: Cast, policy: EscalationPolicy, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    billing = create_escalation_policy(name="Billing", team=cast.billing, levels=[LevelSpec(agent=cast.dave)])
    clock(MONDAY_MORNING)  # Billing keeps no office hours: every urgent ticket pages
    ticket = open_urgent(
        cast, django_capture_on_commit_callbacks, priority=Priority.URGENT, team=cast.billing
    )

    incident = Incident.objects.get(ticket=ticket)
    assert incident.policy == billing
    assert Page.objects.get(incident=incident).recipient == cast.dave
