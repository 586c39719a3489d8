"""The after-hours path tests itself: a drill pages for real, times the acknowledgement, and fails loudly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail

from regulars.core import events
from regulars.core.errors import Conflict, Forbidden
from regulars.core.testing import Cast
from regulars.sla.oncall.models import Drill, DrillPlan, EscalationPolicy, IncidentState, Page
from regulars.sla.oncall.services import (
    acknowledge_incident,
    check_drills,
    escalate,
    run_drill_plans,
    start_drill,
)
from regulars.sla.oncall.tests.conftest import at

WEDNESDAY_3AM = at("2025-03-12T03:00:00+00:00")
MONDAY_NOON = at("2025-03-10T12:00:00+00:00")


@pytest.fixture
def drill_events() -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def handler(name: str, payload: dict[str, Any]) -> None:
        seen.append(payload)

    events.subscribe("sla_oncall.drill_failed", handler)
    yield seen
    events.unsubscribe("sla_oncall.drill_failed", handler)


def test_it_sends_a_synthetic_urgent_ticket_through_the_real_path(
    cast: Cast, policy: EscalationPolicy
) -> None:
    drill = start_drill(policy, now=WEDNESDAY_3AM)

    ticket = drill.ticket
    assert ticket.priority == "urgent"
    assert ticket.requester.name == "Regulars drill"
    assert list(ticket.tags.values_list("name", flat=True)) == ["drill"]
    page = Page.objects.get(incident__ticket=ticket)
    assert (page.recipient, page.due_at, page.outcome) == (cast.dave, WEDNESDAY_3AM, "sent")  # Dave's night
    assert "[DRILL]" in mail.outbox[-1].subject


def test_it_records_how_long_a_human_took_and_solves_the_drill_ticket(
    cast: Cast, policy: EscalationPolicy
) -> None:
    drill = start_drill(policy, now=WEDNESDAY_3AM)
    escalate(WEDNESDAY_3AM + timedelta(minutes=5))

    acknowledge_incident(
        drill.ticket.oncall_incident, by=cast.dave, now=WEDNESDAY_3AM + timedelta(minutes=6, seconds=30)
    )

    drill.refresh_from_db()
    assert (drill.state, drill.acknowledged_by, drill.seconds) == ("passed", cast.dave, 390)
    drill.ticket.refresh_from_db()
    assert drill.ticket.status_category == "solved"
    assert drill.ticket.oncall_incident.state == IncidentState.ACKNOWLEDGED
    assert check_drills(WEDNESDAY_3AM + timedelta(hours=1)) == []


def test_it_pages_even_in_office_hours_because_it_tests_the_path(
    cast: Cast, policy: EscalationPolicy
) -> None:
    drill = start_drill(policy, now=MONDAY_NOON)
    assert Page.objects.filter(incident__ticket=drill.ticket).exists()


def test_it_raises_an_alert_when_nobody_acknowledges_in_time(
    cast: Cast,
    policy: EscalationPolicy,
    drill_events: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    drill = start_drill(policy, now=WEDNESDAY_3AM, deadline_minutes=30)

    assert check_drills(WEDNESDAY_3AM + timedelta(minutes=29)) == []
    with django_capture_on_commit_callbacks(execute=True):
        failed = check_drills(WEDNESDAY_3AM + timedelta(minutes=30))
        again = check_drills(WEDNESDAY_3AM + timedelta(minutes=31))

    assert [d.pk for d in failed] == [drill.pk]
    assert again == []
    drill.refresh_from_db()
    assert (drill.state, drill.failed_at) == ("failed", WEDNESDAY_3AM + timedelta(minutes=30))
    assert drill_events == [{"drill_id": drill.pk, "ticket_id": drill.ticket_id}]
    alerts = [m for m in mail.outbox if "drill FAILED" in m.subject]
    assert len(alerts) == 1
    assert alerts[0].to == ["alice@regulars.test"]

    # A late acknowledgement is still recorded, but the drill stays failed.
    acknowledge_incident(
        drill.ticket.oncall_incident, by=cast.alice, now=WEDNESDAY_3AM + timedelta(minutes=45)
    )
    drill.refresh_from_db()
    assert (drill.state, drill.seconds) == ("failed", 45 * 60)


def test_it_runs_a_planned_drill_once_per_slot(cast: Cast, policy: EscalationPolicy) -> None:
    plan = DrillPlan.objects.create(name="Weekly", policy=policy, cron="0 3 * * 3", time_zone="Europe/London")
    DrillPlan.objects.filter(pk=plan.pk).update(created_at=WEDNESDAY_3AM - timedelta(days=1))

    assert run_drill_plans(WEDNESDAY_3AM - timedelta(minutes=1)) == []
    started = run_drill_plans(WEDNESDAY_3AM)
    assert run_drill_plans(WEDNESDAY_3AM + timedelta(minutes=1)) == []

    assert [(d.plan, d.slot) for d in started] == [(plan, WEDNESDAY_3AM)]
    assert Drill.objects.count() == 1
    with pytest.raises(Conflict):
        start_drill(policy, now=WEDNESDAY_3AM, plan=plan, slot=WEDNESDAY_3AM)
    assert Drill.objects.count() == 1


def test_it_does_not_run_a_slot_from_before_the_plan_existed(cast: Cast, policy: EscalationPolicy) -> None:
    plan = DrillPlan.objects.create(name="Weekly", policy=policy, cron="0 3 * * 3")
    DrillPlan.objects.filter(pk=plan.pk).update(created_at=WEDNESDAY_3AM + timedelta(seconds=30))
    assert run_drill_plans(WEDNESDAY_3AM + timedelta(minutes=1)) == []


def test_it_lets_only_admins_start_a_drill(cast: Cast, policy: EscalationPolicy) -> None:
    with pytest.raises(Forbidden):
        start_drill(policy, now=WEDNESDAY_3AM, actor=cast.bob)
    assert start_drill(policy, now=WEDNESDAY_3AM, actor=cast.alice).started_by == cast.alice
