"""An agent turns an alert into a problem ticket; the customers' tickets are linked to it so
they can be answered together. Only full agents may, and only tickets they may see are linked."""

from __future__ import annotations

import datetime as dt

import pytest

from regulars.core.errors import Forbidden
from regulars.insights.emerging import detect
from regulars.insights.models import EmergingAlert, TrendDimension
from regulars.insights.services import convert_alert_to_problem
from regulars.tickets.models import Ticket, TicketEvent, TicketType

from .streams import MONDAY, Clock, burst, customers, ordinary_history


@pytest.fixture
def incident(cast, monkeypatch, django_capture_on_commit_callbacks):
    clock = Clock(monkeypatch, MONDAY)
    ordinary_history()
    people = customers(16)
    tickets = burst(django_capture_on_commit_callbacks, clock, people[:12], start=MONDAY)
    detect(clock.at(MONDAY + dt.timedelta(minutes=20)))
    alert = EmergingAlert.objects.get(dimension=TrendDimension.KEYWORD, key="payment fail")
    return clock, people, tickets, alert


def test_it_opens_a_problem_ticket_linking_every_customers_ticket(cast, incident):
    _, _, tickets, alert = incident
    result = convert_alert_to_problem(alert, actor=cast.bob)

    problem = result.problem
    assert result.created
    assert problem.ticket_type == TicketType.PROBLEM
    assert "payment fail" in problem.subject
    assert sorted(t.pk for t in result.linked) == sorted(t.pk for t in tickets)
    assert set(Ticket.objects.filter(problem=problem).values_list("pk", flat=True)) == {t.pk for t in tickets}
    assert TicketEvent.objects.filter(ticket=tickets[0], action="problem_linked").exists()
    assert TicketEvent.objects.filter(ticket=problem, action="incidents_linked").exists()
    alert.refresh_from_db()
    assert alert.problem == problem


def test_it_links_latecomers_to_the_same_problem_when_converted_again(
    cast, incident, django_capture_on_commit_callbacks
):
    clock, people, _, alert = incident
    first = convert_alert_to_problem(alert, actor=cast.bob)
    late = burst(
        django_capture_on_commit_callbacks, clock, people[12:16], start=MONDAY + dt.timedelta(minutes=30)
    )
    detect(clock.at(MONDAY + dt.timedelta(minutes=40)))
    again = convert_alert_to_problem(alert, actor=cast.bob)
    assert not again.created and again.problem == first.problem
    assert sorted(t.pk for t in again.linked) == sorted(t.pk for t in late)


def test_it_lets_only_full_agents_convert(cast, incident):
    alert = incident[3]
    for who in (cast.charlie, cast.carol_user):
        with pytest.raises(Forbidden):
            convert_alert_to_problem(alert, actor=who)
    assert not Ticket.objects.filter(ticket_type=TicketType.PROBLEM).exists()


def test_it_links_only_the_tickets_the_agent_may_see(cast, incident):
    from regulars.tickets.services import update_ticket

    _, _, tickets, alert = incident
    # Dave sees only Billing's tickets: none of these, so he cannot raise the problem ...
    with pytest.raises(Forbidden):
        convert_alert_to_problem(alert, actor=cast.dave)
    assert not Ticket.objects.filter(ticket_type=TicketType.PROBLEM).exists()
    # ... until two of them are Billing's; then those two are linked, and the problem is his.
    for ticket in tickets[:2]:
        update_ticket(ticket, actor=cast.alice, team=cast.billing)
    result = convert_alert_to_problem(alert, actor=cast.dave)
    assert sorted(t.pk for t in result.linked) == sorted(t.pk for t in tickets[:2])
    assert result.problem.assignee == cast.dave
