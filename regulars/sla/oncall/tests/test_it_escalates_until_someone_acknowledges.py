"""Nobody acknowledges: the page moves up the chain on schedule and ends at the final person.
Someone acknowledges: the paging stops."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core import mail

from regulars.core.testing import Cast
from regulars.sla.oncall.models import EscalationPolicy, Incident, IncidentState, Page
from regulars.sla.oncall.services import acknowledge_incident, consider_ticket, escalate
from regulars.sla.oncall.tests.conftest import at
from regulars.tickets.models import Priority
from regulars.tickets.services import open_ticket

SATURDAY_NIGHT = at("2025-03-08T22:00:00+00:00")  # London is on GMT; the office is closed


def urgent_ticket(cast: Cast, when: datetime) -> Incident:
    ticket = open_ticket(
        subject="Site down", body="Nothing loads", requester=cast.carol, priority=Priority.URGENT
    )
    incident = consider_ticket(ticket.pk, now=when)
    assert incident is not None
    return incident


def run_every_minute(start: datetime, minutes: int) -> None:
    for minute in range(minutes + 1):
        now = start + timedelta(minutes=minute)
        escalate(now)
        escalate(now)  # a second scheduler or a retried task changes nothing


def timeline(incident: Incident) -> list[tuple[str, int, int, str, str]]:
    return [
        (p.due_at.strftime("%H:%M"), p.level, p.attempt, p.recipient.name.split()[0], p.outcome)
        for p in Page.objects.filter(incident=incident).select_related("recipient").order_by("due_at", "id")
    ]


def test_it_moves_up_the_chain_on_schedule_and_ends_at_the_final_person(
    cast: Cast, policy: EscalationPolicy
) -> None:
    incident = urgent_ticket(cast, SATURDAY_NIGHT)

    run_every_minute(SATURDAY_NIGHT, 70)

    assert timeline(incident) == [
        ("22:00", 1, 1, "Bob", "sent"),  # Bob holds the Nights rotation on 8 March
        ("22:05", 1, 2, "Bob", "sent"),
        ("22:10", 1, 3, "Bob", "sent"),
        ("22:15", 2, 1, "Dave", "sent"),  # 15 minutes without acknowledgement: up to Dave
        ("22:20", 2, 2, "Dave", "sent"),
        ("22:25", 3, 1, "Alice", "sent"),  # 10 more: up to the named final person
        ("22:35", 3, 2, "Alice", "sent"),
        ("22:45", 3, 3, "Alice", "sent"),  # her cap of three pages
    ]
    # Every page went out at its due minute, not later.
    assert all(p.sent_at == p.due_at for p in Page.objects.filter(incident=incident))
    incident.refresh_from_db()
    assert incident.state == IncidentState.TRIGGERED
    assert (incident.current_level, incident.level_started_at) == (3, at("2025-03-08T22:25:00+00:00"))
    # When her last page goes unanswered too, admins are alerted, once.
    assert incident.exhausted_at == at("2025-03-08T22:55:00+00:00")
    alerts = [m for m in mail.outbox if "Nobody acknowledged" in m.subject]
    assert len(alerts) == 1
    assert alerts[0].to == ["alice@regulars.test"]
    pages = [m for m in mail.outbox if "needs you" in m.subject]
    assert [m.to for m in pages] == [["bob@regulars.test"]] * 3 + [["dave@regulars.test"]] * 2 + [
        ["alice@regulars.test"]
    ] * 3
    assert "/ack/" in pages[0].body


def test_it_stops_paging_once_someone_acknowledges(cast: Cast, policy: EscalationPolicy) -> None:
    incident = urgent_ticket(cast, SATURDAY_NIGHT)
    run_every_minute(SATURDAY_NIGHT, 17)

    acknowledge_incident(incident, by=cast.dave, now=at("2025-03-08T22:17:30+00:00"), via="api")
    run_every_minute(SATURDAY_NIGHT + timedelta(minutes=18), 60)

    assert [row[:4] for row in timeline(incident)] == [
        ("22:00", 1, 1, "Bob"),
        ("22:05", 1, 2, "Bob"),
        ("22:10", 1, 3, "Bob"),
        ("22:15", 2, 1, "Dave"),
    ]
    incident.refresh_from_db()
    assert incident.state == IncidentState.ACKNOWLEDGED
    assert incident.acknowledged_by == cast.dave
    assert incident.acknowledged_at == at("2025-03-08T22:17:30+00:00")
    assert incident.exhausted_at is None


def test_it_acknowledges_only_once(cast: Cast, policy: EscalationPolicy) -> None:
    incident = urgent_ticket(cast, SATURDAY_NIGHT)
    acknowledge_incident(incident, by=cast.bob, now=at("2025-03-08T22:01:00+00:00"))
    acknowledge_incident(incident, by=cast.dave, now=at("2025-03-08T22:02:00+00:00"))

    incident.refresh_from_db()
    assert (incident.acknowledged_by, incident.acknowledged_at) == (cast.bob, at("2025-03-08T22:01:00+00:00"))


def test_it_pages_the_override_instead_of_the_rotation(cast: Cast, policy: EscalationPolicy) -> None:
    from regulars.sla.oncall.services import add_override

    add_override(
        policy.levels.get(position=1).rotation,  # type: ignore[arg-type]
        agent=cast.alice,
        starts_at=at("2025-03-08T20:00:00+00:00"),
        ends_at=at("2025-03-09T02:00:00+00:00"),
        reason="Bob at a wedding",
        actor=cast.alice,
    )
    incident = urgent_ticket(cast, SATURDAY_NIGHT)

    assert [row[3] for row in timeline(incident)] == ["Alice"]


def test_it_catches_up_after_downtime_without_sending_stale_pages(
    cast: Cast, policy: EscalationPolicy
) -> None:
    incident = urgent_ticket(cast, SATURDAY_NIGHT)

    escalate(at("2025-03-08T22:21:00+00:00"))  # the scheduler was down for 20 minutes

    assert [row[:4] for row in timeline(incident)] == [("22:00", 1, 1, "Bob"), ("22:20", 2, 2, "Dave")]


@pytest.mark.parametrize("category", ["solved"])
def test_it_stops_when_the_ticket_is_solved_first(
    cast: Cast, policy: EscalationPolicy, category: str
) -> None:
    from regulars.tickets.services import default_status, update_ticket

    incident = urgent_ticket(cast, SATURDAY_NIGHT)
    update_ticket(incident.ticket, actor=cast.bob, status=default_status(category))

    run_every_minute(SATURDAY_NIGHT, 30)

    incident.refresh_from_db()
    assert incident.state == IncidentState.RESOLVED
    assert len(timeline(incident)) == 1


def test_it_runs_the_periodic_tasks_by_their_registered_names(cast: Cast, policy: EscalationPolicy) -> None:
    from regulars.core.scheduling import registered_jobs
    from regulars.sla.oncall.tasks import drills_task, escalate_task

    jobs = {job.name: job for job in registered_jobs()}
    assert jobs["sla_oncall.escalate"].task is escalate_task
    assert jobs["sla_oncall.drills"].task is drills_task
    assert escalate_task.call(slot="2025-03-08T22:00:00+00:00") == 0
    assert drills_task.call(slot="2025-03-08T22:00:00+00:00") == 0
