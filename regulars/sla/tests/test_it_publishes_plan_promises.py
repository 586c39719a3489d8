"""The public plan page and the first-reply promise a customer is shown."""

from __future__ import annotations

from django.test import Client

from regulars.core.testing import Cast
from regulars.customers.services import create_plan, update_customer
from regulars.sla.models import BusinessCalendar
from regulars.sla.selectors import ticket_promise
from regulars.sla.services import create_policy
from regulars.sla.tests.conftest import Clock, london
from regulars.tickets.services import open_ticket


def test_it_shows_a_plans_targets_and_hours_to_anyone(cast: Cast, office: BusinessCalendar) -> None:
    gold = create_plan(name="Gold", slug="gold")
    create_policy(
        name="Gold urgent", plan=gold, priority="urgent", first_reply_minutes=30, first_reply_business=False
    )
    create_policy(
        name="Gold", plan=gold, calendar=office, first_reply_minutes=120, resolution_minutes=16 * 60
    )
    create_policy(name="Others", first_reply_minutes=24 * 60, first_reply_business=False)
    page = Client().get("/plans/gold/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Gold: what we promise" in html
    assert "First reply within 30 minutes (around the clock)" in html
    assert "First reply within 2 hours (business hours)" in html
    assert "Resolution within 16 hours (business hours)" in html
    assert "09:00\N{EN DASH}18:00" in html and "Europe/London" in html
    assert "Christmas Day" in html
    assert "<link" not in html and "<script" not in html  # no external assets


def test_it_answers_404_for_an_unknown_plan(db: None) -> None:
    assert Client().get("/plans/nope/").status_code == 404


def test_it_tells_the_customer_when_to_expect_a_reply(
    cast: Cast, office: BusinessCalendar, clock: Clock
) -> None:
    gold = create_plan(name="Gold", slug="gold")
    update_customer(cast.carol, plan=gold)
    create_policy(name="Gold", plan=gold, calendar=office, first_reply_minutes=60)
    with clock.at(london(2025, 3, 28, 17, 55)):
        ticket = open_ticket(subject="Help", body="x", requester=cast.carol)
        promise = ticket_promise(cast.carol_user, ticket.number)
    assert promise["promise"] == "We will reply by Monday 09:55 (Europe/London)."
    assert promise["policy"] is None  # customers see the promise, not our internal policy names
    assert promise["targets"][0]["at_risk_at"] is None
