"""The desk's Emerging issues pages: the alerts the insight engine raised, open ones first, each
alert's messages and customers, turning one into a problem ticket (full agents only) and the
agent's own alert subscriptions. A real alert comes from a synthetic burst run through ``detect``."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.template.defaultfilters import floatformat
from django.test import Client
from django.test.utils import CaptureQueriesContext

from regulars.core.testing import Cast
from regulars.desk.tests.alert_data import make_alert
from regulars.desk.tests.workspace_data import agent_client
from regulars.desk.views.alerts import PAGE_SIZE
from regulars.insights.emerging import detect
from regulars.insights.models import AlertState, AlertSubscription, EmergingAlert, TrendDimension
from regulars.insights.services import subscribe_to_alerts
from regulars.insights.tests.streams import MONDAY, Clock, burst, customers, ordinary_history
from regulars.tickets.models import Ticket, TicketType

pytestmark = pytest.mark.django_db


@dataclass
class Incident:
    alert: EmergingAlert
    tickets: list[Ticket]


@pytest.fixture
def incident(cast: Cast, monkeypatch: Any, django_capture_on_commit_callbacks: Any) -> Incident:
    clock = Clock(monkeypatch, MONDAY)
    ordinary_history()
    people = customers(12)
    tickets = burst(django_capture_on_commit_callbacks, clock, people, start=MONDAY)
    detect(clock.at(MONDAY + dt.timedelta(minutes=20)))
    alert = EmergingAlert.objects.get(dimension=TrendDimension.KEYWORD, key="payment fail")
    return Incident(alert, tickets)


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.content.decode())


def problem_tickets() -> Any:
    return Ticket.objects.filter(ticket_type=TicketType.PROBLEM)


# --- the list ------------------------------------------------------------------------------------


def test_it_lists_an_open_alert_with_its_counts(cast: Cast, incident: Incident) -> None:
    alert = incident.alert
    assert alert.state == AlertState.OPEN and alert.total_count == 12
    text = page(agent_client(cast.bob), "/desk/alerts/")
    assert 'aria-current="page">Emerging issues</a>' in text
    assert f'href="/desk/alerts/{alert.public_id}/"' in text
    assert alert.label in text and "Keyword cluster: payment fail" in text
    assert f"{alert.current_count} this hour, about {floatformat(alert.expected, -1)} expected" in text
    assert f"{alert.onset_bucket:%-d %b %Y, %H}:00" in text
    assert "12 messages, 12 tickets, 12 customers" in text
    assert "None" in text  # no problem ticket yet


def test_it_shows_the_nav_entry_on_the_queue_page_to_a_light_agent(cast: Cast) -> None:
    text = page(agent_client(cast.charlie), "/desk/")
    assert '<a href="/desk/alerts/">Emerging issues</a>' in text


def test_it_lists_open_alerts_before_closed_ones_and_filters_by_state(cast: Cast) -> None:
    opened = make_alert("refund delay", state=AlertState.OPEN)
    closed = make_alert("login loop")  # newer, but closed
    bob = agent_client(cast.bob)
    text = page(bob, "/desk/alerts/")
    assert text.index(opened.label) < text.index(closed.label)
    assert "in its last elevated hour" in text
    only_open = page(bob, "/desk/alerts/?state=open")
    assert opened.label in only_open and closed.label not in only_open
    only_closed = page(bob, "/desk/alerts/?state=closed")
    assert closed.label in only_closed and opened.label not in only_closed
    assert opened.label in page(bob, "/desk/alerts/?state=nonsense")  # an unknown state: all


def test_it_says_so_when_there_are_no_alerts(cast: Cast) -> None:
    text = page(agent_client(cast.bob), "/desk/alerts/")
    assert "No emerging issues: nothing is rising above its usual level." in text
    assert "No open emerging issues" in page(agent_client(cast.bob), "/desk/alerts/?state=open")


def test_it_pages_alerts_by_cursor_open_ones_first(cast: Cast) -> None:
    opened = [make_alert(f"open {i}", state=AlertState.OPEN) for i in range(PAGE_SIZE)]
    closed = [make_alert(f"closed {i}") for i in range(3)]
    bob = agent_client(cast.bob)
    first = bob.get("/desk/alerts/")
    shown_first = [a.label for a in opened + closed if f"{a.label}<" in first.content.decode()]
    assert sorted(shown_first) == sorted(a.label for a in opened)
    next_url = first.context["next_url"]
    assert next_url and first.context["first_url"] is None
    second = bob.get(next_url)
    text = second.content.decode()
    shown_second = sorted(
        (a for a in opened + closed if f"{a.label}<" in text), key=lambda a: text.index(a.label)
    )
    assert shown_second == list(reversed(closed))  # newest first
    assert second.context["next_url"] is None and second.context["first_url"] == "/desk/alerts/"
    broken = bob.get("/desk/alerts/?cursor=not-a-cursor", follow=True)
    assert broken.status_code == 200 and "That page link is not valid" in broken.content.decode()


def test_it_reads_the_list_in_a_fixed_number_of_queries(cast: Cast) -> None:
    bob = agent_client(cast.bob)
    for i in range(3):
        make_alert(f"few {i}")
    bob.get("/desk/alerts/")  # the session and the like, once
    with CaptureQueriesContext(connection) as few:
        bob.get("/desk/alerts/")
    for i in range(15):
        make_alert(f"many {i}")
    with CaptureQueriesContext(connection) as many:
        bob.get("/desk/alerts/")
    assert len(many) == len(few)


# --- the detail ----------------------------------------------------------------------------------


def test_it_shows_the_alert_messages_customers_and_hours(cast: Cast, incident: Incident) -> None:
    alert = incident.alert
    text = page(agent_client(cast.bob), f"/desk/alerts/{alert.public_id}/")
    for ticket in incident.tickets:
        assert f'href="/desk/tickets/{ticket.number}/">#{ticket.number} {ticket.subject}</a>' in text
        assert f'href="/desk/customers/{ticket.requester.public_id}/">{ticket.requester.name}</a>' in text
    assert "Payment failed at checkout. Can you look into it?" in text
    for at in alert.buckets:
        assert f'datetime="{dt.datetime.fromisoformat(at):%Y-%m-%dT%H}' in text
    assert "Open a problem ticket" in text


def test_it_escapes_what_customers_wrote(cast: Cast, incident: Incident) -> None:
    ticket = incident.tickets[0]
    message = ticket.messages.order_by("id").first()
    assert message is not None
    message.body_text = "<script>alert(1)</script> payment failed"
    message.save(update_fields=["body_text"])
    raw = agent_client(cast.bob).get(f"/desk/alerts/{incident.alert.public_id}/").content.decode()
    assert "<script>alert(1)" not in raw and "&lt;script&gt;alert(1)" in raw


def test_it_answers_404_for_an_unknown_alert(cast: Cast) -> None:
    bob = agent_client(cast.bob)
    assert bob.get("/desk/alerts/alert_doesnotexist/").status_code == 404
    assert bob.post("/desk/alerts/alert_doesnotexist/problem/").status_code == 404


def test_it_lists_no_message_an_agent_may_not_see(cast: Cast, incident: Incident) -> None:
    text = page(agent_client(cast.dave), f"/desk/alerts/{incident.alert.public_id}/")
    assert "None on tickets you may see." in text
    assert not any(f"/desk/tickets/{t.number}/" in text for t in incident.tickets)
    assert "Open a problem ticket" not in text  # nothing he could link


# --- the problem ticket --------------------------------------------------------------------------


def test_a_full_agent_opens_a_problem_ticket_through_the_form(cast: Cast, incident: Incident) -> None:
    alert = incident.alert
    bob = agent_client(cast.bob)
    response = bob.post(f"/desk/alerts/{alert.public_id}/problem/", {"subject": "Checkout payments fail"})
    problem = problem_tickets().get()
    assert response.status_code == 302 and response["Location"] == f"/desk/tickets/{problem.number}/"
    assert problem.subject == "Checkout payments fail" and problem.assignee == cast.bob
    alert.refresh_from_db()
    assert alert.problem == problem
    linked = set(Ticket.objects.filter(problem=problem).values_list("pk", flat=True))
    assert linked == {t.pk for t in incident.tickets}
    shown = page(bob, response["Location"])
    assert f"Problem ticket #{problem.number} opened; 12 tickets linked." in shown
    listed = page(bob, "/desk/alerts/")
    assert f'<a href="/desk/tickets/{problem.number}/">#{problem.number}</a>' in listed

    again = bob.post(f"/desk/alerts/{alert.public_id}/problem/", {}, follow=True)
    assert (
        f"Problem ticket #{problem.number} already existed; 0 more tickets linked." in again.content.decode()
    )
    assert problem_tickets().count() == 1


def test_it_names_the_problem_after_the_alert_without_a_subject(cast: Cast, incident: Incident) -> None:
    agent_client(cast.bob).post(f"/desk/alerts/{incident.alert.public_id}/problem/", {"subject": ""})
    assert problem_tickets().get().subject == f"Problem: {incident.alert.label}"


def test_a_light_agent_sees_no_problem_form_and_a_post_is_refused(cast: Cast, incident: Incident) -> None:
    alert = incident.alert
    charlie = agent_client(cast.charlie)
    text = page(charlie, f"/desk/alerts/{alert.public_id}/")
    assert f"/desk/alerts/{alert.public_id}/problem/" not in text
    assert "Open a problem ticket" not in text
    response = charlie.post(f"/desk/alerts/{alert.public_id}/problem/", {"subject": "Mine"})
    assert response.status_code == 403
    assert not problem_tickets().exists()
    alert.refresh_from_db()
    assert alert.problem is None


def test_it_refuses_a_problem_to_an_agent_who_sees_none_of_its_tickets(
    cast: Cast, incident: Incident
) -> None:
    response = agent_client(cast.dave).post(f"/desk/alerts/{incident.alert.public_id}/problem/")
    assert response.status_code == 403
    assert not problem_tickets().exists()


# --- subscriptions -------------------------------------------------------------------------------


def test_it_subscribes_and_unsubscribes(cast: Cast) -> None:
    bob = agent_client(cast.bob)
    response = bob.post("/desk/alerts/subscriptions/", {"dimension": "", "key": ""})
    assert response.status_code == 302 and response["Location"] == "/desk/alerts/#subscriptions"
    everything = AlertSubscription.objects.get(user=cast.bob)
    assert everything.dimension == "" and everything.key == ""
    bob.post("/desk/alerts/subscriptions/", {"dimension": "keyword", "key": "payment fail"})
    text = page(bob, "/desk/alerts/")
    assert "Every alert" in text and "Keyword cluster: payment fail" in text
    assert "Subscribed: you will be told about new alerts." in text
    again = bob.post("/desk/alerts/subscriptions/", {"dimension": "", "key": ""}, follow=True)
    assert "You were already subscribed" in again.content.decode()
    assert AlertSubscription.objects.filter(user=cast.bob).count() == 2

    refused = bob.post("/desk/alerts/subscriptions/", {"dimension": "", "key": "orphan"}, follow=True)
    assert "A key needs its dimension." in refused.content.decode()
    assert not AlertSubscription.objects.filter(key="orphan").exists()

    response = bob.post(f"/desk/alerts/subscriptions/{everything.public_id}/delete/")
    assert response.status_code == 302
    assert not AlertSubscription.objects.filter(pk=everything.pk).exists()
    assert "Unsubscribed." in page(bob, "/desk/alerts/")


def test_it_lists_and_removes_only_ones_own_subscriptions(cast: Cast) -> None:
    bobs, _ = subscribe_to_alerts(actor=cast.bob, dimension="channel", key="email")
    dave = agent_client(cast.dave)
    assert f"/desk/alerts/subscriptions/{bobs.public_id}/delete/" not in page(dave, "/desk/alerts/")
    assert dave.post(f"/desk/alerts/subscriptions/{bobs.public_id}/delete/").status_code == 404
    assert AlertSubscription.objects.filter(pk=bobs.pk).exists()


def test_a_light_agent_may_subscribe(cast: Cast) -> None:
    agent_client(cast.charlie).post("/desk/alerts/subscriptions/", {"dimension": "category"})
    assert AlertSubscription.objects.filter(user=cast.charlie, dimension="category").exists()


# --- who may -------------------------------------------------------------------------------------


def test_it_requires_the_csrf_token_on_every_post(cast: Cast, incident: Incident) -> None:
    mine, _ = subscribe_to_alerts(actor=cast.bob)
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.bob)
    assert client.post(f"/desk/alerts/{incident.alert.public_id}/problem/").status_code == 403
    assert client.post("/desk/alerts/subscriptions/", {"dimension": "keyword"}).status_code == 403
    assert client.post(f"/desk/alerts/subscriptions/{mine.public_id}/delete/").status_code == 403
    assert not problem_tickets().exists()
    assert list(AlertSubscription.objects.filter(user=cast.bob)) == [mine]
