"""The customer and organisation pages: search, profiles, members and tickets."""

from __future__ import annotations

import pytest

from regulars.core.testing import Cast
from regulars.customers.services import create_customer
from regulars.desk.tests.workspace_data import agent_client, give_carol_context
from regulars.tickets.services import open_ticket

pytestmark = pytest.mark.django_db


def test_it_finds_customers_by_email(cast: Cast) -> None:
    html = agent_client(cast.bob).get("/desk/customers/", {"q": "carol@acme.example"}).content.decode()
    assert "Carol Customer" in html and "Erin Other" not in html


def test_it_lists_customers_newest_first_without_a_search(cast: Cast) -> None:
    html = agent_client(cast.bob).get("/desk/customers/").content.decode()
    assert html.index("Erin Other") < html.index("Carol Customer")


def test_it_shows_a_profile_with_every_ticket_the_agent_may_see(cast: Cast) -> None:
    give_carol_context(cast)
    support = open_ticket(subject="Login fails", body="x", requester=cast.carol, team=cast.support)
    billing = open_ticket(subject="Refund please", body="x", requester=cast.carol, team=cast.billing)
    html = agent_client(cast.dave).get(f"/desk/customers/{cast.carol.public_id}/").content.decode()
    assert "Refund please" in html and "Login fails" not in html
    assert "Business" in html and "12,500.50" in html
    html = agent_client(cast.bob).get(f"/desk/customers/{cast.carol.public_id}/").content.decode()
    assert f"#{support.number} Login fails" in html and f"#{billing.number} Refund please" in html


def test_it_shows_an_organisation_with_its_people_and_tickets(cast: Cast) -> None:
    create_customer(name="Adam Acme", emails=["adam@acme.example"])
    ticket = open_ticket(subject="Acme outage", body="x", requester=cast.carol)
    client = agent_client(cast.bob)
    listing = client.get("/desk/organisations/").content.decode()
    assert "Acme" in listing and "Globex" in listing
    html = client.get(f"/desk/organisations/{cast.acme.public_id}/").content.decode()
    assert "Carol Customer" in html and "Adam Acme" in html and "Erin Other" not in html
    assert f"#{ticket.number} Acme outage" in html


def test_it_answers_404_for_an_unknown_customer_or_organisation(cast: Cast) -> None:
    client = agent_client(cast.bob)
    assert client.get("/desk/customers/cus_nobody/").status_code == 404
    assert client.get("/desk/organisations/org_nobody/").status_code == 404
