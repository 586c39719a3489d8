"""Queues show only what the viewer may see; the desk is for agents; writes need a CSRF token."""

from __future__ import annotations

import pytest
from django.test import Client

from regulars.core.testing import Cast, enrol_totp
from regulars.desk.tests.queue_data import numbers_on, put_at_risk, signed_in, ticket
from regulars.tickets.models import Ticket

pytestmark = pytest.mark.django_db

QUEUES = ["mine", "teams", "unassigned", "at-risk", "all"]


@pytest.fixture
def spread(cast: Cast) -> dict[str, Ticket]:
    """One ticket in each corner: Billing's, Support's, nobody's, and one assigned to dave."""
    tickets = {
        "billing": ticket(cast, "Invoice twice", team=cast.billing),
        "support": ticket(cast, "Password reset", team=cast.support),
        "no_team": ticket(cast, "Hello?"),
        "dave_support": ticket(cast, "Support ticket dave holds", team=cast.support, assignee=cast.dave),
    }
    # Every ticket's SLA clock is in trouble, so the at-risk queue has something to hide too.
    put_at_risk(*tickets.values())
    return tickets


@pytest.mark.parametrize("queue", QUEUES)
def test_it_shows_dave_only_billing_tickets_and_his_own_in_every_queue(
    cast: Cast, spread: dict[str, Ticket], queue: str
) -> None:
    allowed = {spread["billing"].number, spread["dave_support"].number}
    for sort in ("newest", "priority", "updated"):
        listed = set(numbers_on(signed_in(cast.dave).get(f"/desk/queues/{queue}/", {"sort": sort})))
        assert listed <= allowed, (queue, sort)
    everything = set(numbers_on(signed_in(cast.dave).get(f"/desk/queues/{queue}/", {"status": "any"})))
    assert spread["support"].number not in everything
    assert spread["no_team"].number not in everything
    # Bob, who sees everything, does find the others in the same queue, so the test can fail.
    if queue in ("at-risk", "all"):
        assert spread["support"].number in numbers_on(signed_in(cast.bob).get(f"/desk/queues/{queue}/"))


def test_it_shows_dave_his_billing_tickets(cast: Cast, spread: dict[str, Ticket]) -> None:
    listed = numbers_on(signed_in(cast.dave).get("/desk/queues/all/"))
    assert listed == [spread["dave_support"].number, spread["billing"].number]


def test_it_refuses_the_desk_to_customers(cast: Cast) -> None:
    client = signed_in(cast.carol_user)
    for path in ["/desk/", "/desk/queues/all/"]:
        assert client.get(path).status_code == 403
    response = client.post("/desk/bulk/", {"tickets": ["1001"], "tag": "x"})
    assert response.status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(cast: Cast) -> None:
    response = Client().get("/desk/queues/all/?priority=high")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/desk/queues/all/")


def test_it_sends_an_admin_without_two_factor_to_enrolment_first(cast: Cast) -> None:
    response = signed_in(cast.alice).get("/desk/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"
    enrol_totp(cast.alice)
    assert signed_in(cast.alice).get("/desk/").status_code == 200


def test_it_refuses_a_bulk_change_without_a_csrf_token(cast: Cast) -> None:
    one = ticket(cast, "Untouched", team=cast.support)
    client = signed_in(cast.bob, enforce_csrf_checks=True)
    response = client.post("/desk/bulk/", {"tickets": [str(one.number)], "tag": "sneaky"})
    assert response.status_code == 403
    assert list(one.tags.all()) == []


def test_it_refuses_saving_a_filter_without_a_csrf_token(cast: Cast) -> None:
    client = signed_in(cast.bob, enforce_csrf_checks=True)
    response = client.post("/desk/filters/", {"name": "Sneaky", "queue": "all", "query": ""})
    assert response.status_code == 403
    assert not cast.bob.saved_filters.exists()


def test_it_only_answers_gets_on_queue_pages(cast: Cast) -> None:
    assert signed_in(cast.bob).post("/desk/queues/all/").status_code == 405
