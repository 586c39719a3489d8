"""Supplier dependencies: the supplier's clock runs against the supplier, ours keeps running."""

from __future__ import annotations

from datetime import timedelta

import pytest

from regulars.core.errors import Conflict, Forbidden
from regulars.core.testing import Cast
from regulars.sla.models import BusinessCalendar, TicketSla
from regulars.sla.selectors import suppliers_by_breaches
from regulars.sla.services import (
    create_policy,
    create_supplier,
    record_supplier_response,
    resolve_supplier_wait,
    start_supplier_wait,
)
from regulars.sla.tests.conftest import LONDON, Clock, london
from regulars.tickets.services import open_ticket

MONDAY = london(2025, 6, 2, 16, 0)


def test_it_runs_the_suppliers_clock_on_the_suppliers_calendar(
    cast: Cast, office: BusinessCalendar, clock: Clock
) -> None:
    create_policy(name="Everyone", resolution_minutes=4 * 60, resolution_business=False)
    acme_parts = create_supplier(
        name="Acme Parts", calendar=office, response_minutes=4 * 60, resolution_minutes=18 * 60
    )
    with clock.at(MONDAY):
        ticket = open_ticket(subject="Part broken", body="x", requester=cast.carol)
        wait = start_supplier_wait(ticket, acme_parts, actor=cast.bob, reference="AP-77")
    # Supplier: two hours on Monday, two more on Tuesday morning (their 09:00-18:00 office).
    assert wait.response_due_at.astimezone(LONDON) == london(2025, 6, 3, 11, 0)  # type: ignore[union-attr]
    assert wait.resolution_due_at.astimezone(LONDON) == london(2025, 6, 4, 16, 0)  # type: ignore[union-attr]
    # The customer's clock did not pause: still due four hours after opening.
    row = TicketSla.objects.get(ticket=ticket)
    assert not row.is_paused
    assert row.resolution_due == MONDAY + timedelta(hours=4)


def test_it_ranks_suppliers_by_breaches(cast: Cast, clock: Clock) -> None:
    slow = create_supplier(name="Slow Co", response_minutes=60, resolution_minutes=24 * 60)
    quick = create_supplier(name="Quick Co", response_minutes=60, resolution_minutes=24 * 60)
    with clock.at(MONDAY):
        t1 = open_ticket(subject="a", body="x", requester=cast.carol)
        t2 = open_ticket(subject="b", body="x", requester=cast.carol)
        slow_wait = start_supplier_wait(t1, slow, actor=cast.bob)
        quick_wait = start_supplier_wait(t2, quick, actor=cast.bob)
    with clock.at(MONDAY + timedelta(minutes=30)):
        record_supplier_response(quick_wait, actor=cast.bob)
        resolve_supplier_wait(quick_wait, actor=cast.bob)
    with clock.at(MONDAY + timedelta(hours=3)):
        record_supplier_response(slow_wait, actor=cast.bob)  # two hours late
    report = suppliers_by_breaches(MONDAY - timedelta(days=1), now=MONDAY + timedelta(days=2))
    assert [(r["name"], r["response_breaches"], r["resolution_breaches"], r["open"]) for r in report] == [
        ("Slow Co", 1, 1, 1),
        ("Quick Co", 0, 0, 0),
    ]


def test_it_refuses_a_second_open_wait_and_customers(cast: Cast, clock: Clock) -> None:
    parts = create_supplier(name="Parts", response_minutes=60)
    with clock.at(MONDAY):
        ticket = open_ticket(subject="a", body="x", requester=cast.carol)
        start_supplier_wait(ticket, parts, actor=cast.bob)
        with pytest.raises(Conflict):
            start_supplier_wait(ticket, parts, actor=cast.bob)
        with pytest.raises(Forbidden):
            start_supplier_wait(ticket, parts, actor=cast.carol_user)


def test_it_lets_only_admins_create_suppliers(cast: Cast) -> None:
    with pytest.raises(Forbidden):
        create_supplier(name="Nope", actor=cast.bob)
    assert create_supplier(name="Yes", actor=cast.alice).name == "Yes"
