"""``/api/v1/insights/alerts``, ``/alert-subscriptions`` and ``/tickets/{n}/similar``: who may do
what, what they get, and list endpoints in a constant number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regulars.api.tests.conftest import Api, token
from regulars.insights.emerging import detect
from regulars.insights.models import AlertSubscription, EmergingAlert, TrendDimension
from regulars.insights.services import subscribe_to_alerts
from regulars.tickets.models import Ticket, TicketType

from .streams import MONDAY, Clock, burst, customers, ordinary_history

ROLES = ("alice", "bob", "charlie", "carol")
AGENTS = {"alice", "bob", "charlie"}


def _as(cast, role):
    return Api(token(cast.carol_user if role == "carol" else getattr(cast, role)))


@pytest.fixture
def alert(cast, monkeypatch, django_capture_on_commit_callbacks):
    clock = Clock(monkeypatch, MONDAY)
    ordinary_history()
    burst(django_capture_on_commit_callbacks, clock, customers(12), start=MONDAY)
    detect(clock.at(MONDAY + dt.timedelta(minutes=20)))
    monkeypatch.undo()  # API tokens and rate limits run on the real clock
    return EmergingAlert.objects.get(dimension=TrendDimension.KEYWORD, key="payment fail")


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/insights/alerts", AGENTS),
        ("/insights/alerts?state=open&dimension=keyword", AGENTS),
        ("/insights/alerts/{a}", AGENTS),
        ("/insights/alert-subscriptions", AGENTS),
        ("/insights/tickets/{n}/similar", AGENTS),
    ],
)
@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_agents_read(cast, alert, path, allowed, role):
    number = alert.messages.first().ticket.number
    response = _as(cast, role).client.get(
        "/api/v1" + path.format(a=alert.public_id, n=number), **_as(cast, role).headers
    )
    if role in allowed:
        assert response.status_code == 200, response.content
    else:
        assert response.status_code == 403, response.content


def test_it_shows_an_alert_with_its_hours_messages_and_customers(cast, alert):
    body = _as(cast, "bob").get(f"/insights/alerts/{alert.public_id}").json()
    assert body["key"] == "payment fail" and body["state"] == "open"
    assert body["customer_count"] == 12 and len(body["customers"]) == 12
    assert (
        len(body["messages"]) == 12
        and "Payment failed" in body["messages"][0]["excerpt"] + body["messages"][0]["subject"]
    )
    assert body["hours"][0]["count"] == 12 and body["hours"][0]["expected"] > 0
    listed = _as(cast, "bob").get("/insights/alerts", state="open").json()["items"]
    assert alert.public_id in [a["id"] for a in listed]


def test_it_hides_the_messages_of_tickets_a_scoped_agent_may_not_see(cast, alert):
    body = _as(cast, "dave").get(f"/insights/alerts/{alert.public_id}").json()
    assert body["customer_count"] == 12  # the size of the incident is no secret among agents
    assert body["messages"] == [] and body["customers"] == []


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_full_agents_make_a_problem_ticket(cast, alert, role):
    response = _as(cast, role).post(f"/insights/alerts/{alert.public_id}/problem", {})
    if role in ("alice", "bob"):
        assert response.status_code == 201, response.content
        body = response.json()
        assert len(body["linked_tickets"]) == 12 and body["created"] is True
        problem = Ticket.objects.get(number=body["problem_ticket"])
        assert problem.ticket_type == TicketType.PROBLEM
        again = _as(cast, role).post(
            f"/insights/alerts/{alert.public_id}/problem", {"subject": "Payments down"}
        )
        assert again.status_code == 200 and again.json()["problem_ticket"] == problem.number
    else:
        assert response.status_code == 403, response.content
        assert not Ticket.objects.filter(ticket_type=TicketType.PROBLEM).exists()


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_agents_subscribe_and_unsubscribe(cast, role):
    api = _as(cast, role)
    response = api.post("/insights/alert-subscriptions", {"dimension": "keyword", "key": "refund"})
    if role not in AGENTS:
        assert response.status_code == 403
        return
    assert response.status_code == 201, response.content
    sub = response.json()
    assert (
        api.post("/insights/alert-subscriptions", {"dimension": "keyword", "key": "refund"}).status_code
        == 200
    )
    assert [s["id"] for s in api.get("/insights/alert-subscriptions").json()] == [sub["id"]]
    assert api.delete(f"/insights/alert-subscriptions/{sub['id']}").status_code == 204
    assert not AlertSubscription.objects.exists()


def test_it_keeps_subscriptions_private(cast):
    bobs, _ = subscribe_to_alerts(actor=cast.bob)
    assert _as(cast, "alice").get("/insights/alert-subscriptions").json() == []
    assert _as(cast, "alice").delete(f"/insights/alert-subscriptions/{bobs.public_id}").status_code == 404
    assert AlertSubscription.objects.filter(pk=bobs.pk).exists()


def test_it_answers_bad_input_with_clear_errors(cast):
    api = _as(cast, "bob")
    assert api.get("/insights/alerts/alert_nope").status_code == 404
    assert api.get("/insights/alerts", state="sideways").status_code == 422
    assert api.get("/insights/alerts", cursor="%%%").status_code == 422
    assert api.post("/insights/alert-subscriptions", {"dimension": "weather"}).status_code == 422
    assert api.post("/insights/alert-subscriptions", {"key": "refund"}).status_code == 422
    assert api.get("/insights/tickets/999999/similar").status_code == 404
    assert api.post("/insights/alerts/alert_nope/problem", {}).status_code == 404


def test_it_finds_similar_tickets_over_the_api(cast):
    from regulars.tickets.services import open_ticket

    first = open_ticket(
        subject="App crashes on start", body="The app crashes when I open it.", requester=cast.carol
    )
    second = open_ticket(
        subject="App crash at start", body="Opening the app crashes it.", requester=cast.erin
    )
    body = _as(cast, "bob").get(f"/insights/tickets/{second.number}/similar").json()
    assert [s["ticket"] for s in body["open"]] == [first.number]
    assert body["solved"] == []


def _queries(api, path, **params):
    api.get(path, **params)
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, **params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _more_alerts(n):
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for i in range(n):
        EmergingAlert.objects.create(
            dimension="keyword", key=f"k{i}", label=f"k{i}", state="closed", onset_bucket=now,
            last_elevated_bucket=now, detected_at=now,
        )  # fmt: skip


def test_it_lists_alerts_and_subscriptions_in_constant_queries(
    cast, alert, django_capture_on_commit_callbacks
):
    api = _as(cast, "bob")
    convert = _as(cast, "alice").post(f"/insights/alerts/{alert.public_id}/problem", {})
    assert convert.status_code == 201
    few = _queries(api, "/insights/alerts")
    small = EmergingAlert.objects.create(
        dimension="keyword", key="small", label="small", onset_bucket=alert.onset_bucket,
        last_elevated_bucket=alert.onset_bucket, detected_at=alert.detected_at,
    )  # fmt: skip
    for member in alert.messages.all()[:2]:
        small.messages.create(message=member.message, ticket=member.ticket, customer=member.customer,
                              bucket=member.bucket)  # fmt: skip
    detail = _queries(api, f"/insights/alerts/{small.public_id}")
    subs = _queries(api, "/insights/alert-subscriptions")
    _more_alerts(18)
    for dimension in ("keyword", "channel", "category"):
        subscribe_to_alerts(actor=cast.bob, dimension=dimension)
    assert _queries(api, "/insights/alerts") == few
    assert _queries(api, f"/insights/alerts/{alert.public_id}") == detail
    assert _queries(api, "/insights/alert-subscriptions") == subs
    assert few <= 6 and detail <= 7
