"""A new ticket nobody routed goes to the customer's owning team, and to their named contact when
the plan includes one: the chain of ownership ends in a person."""

from __future__ import annotations

from regulars.core.testing import Cast
from regulars.customers.services import create_plan, update_customer, update_organisation
from regulars.tickets.services import open_ticket


def test_it_sends_a_customers_ticket_to_the_team_that_owns_them(cast: Cast) -> None:
    update_customer(cast.carol, owner_team=cast.billing)
    ticket = open_ticket(subject="Invoice", body="b", requester=cast.carol)
    assert ticket.team == cast.billing and ticket.assignee is None
    assert ticket.history.get(action="routed").new["reason"] == "team Billing owns this customer"


def test_it_falls_back_to_the_organisations_team_and_backup(cast: Cast) -> None:
    update_organisation(cast.acme, backup_team=cast.support)
    assert open_ticket(subject="a", body="b", requester=cast.carol).team == cast.support


def test_it_assigns_the_named_contact_only_when_the_plan_includes_one(cast: Cast) -> None:
    update_customer(cast.carol, owner=cast.dave, backup_owner=cast.bob)
    assert open_ticket(subject="a", body="b", requester=cast.carol).assignee is None
    named = create_plan(name="Premier", slug="premier", named_contact=True)
    update_customer(cast.carol, plan=named)
    ticket = open_ticket(subject="a", body="b", requester=cast.carol)
    assert ticket.assignee == cast.dave and ticket.status_category == "open"


def test_it_skips_a_deactivated_owner_for_the_backup(cast: Cast) -> None:
    named = create_plan(name="Premier", slug="premier", named_contact=True)
    update_customer(cast.carol, plan=named, owner=cast.dave, backup_owner=cast.bob)
    cast.dave.is_active = False
    cast.dave.save(update_fields=["is_active"])
    assert open_ticket(subject="a", body="b", requester=cast.carol).assignee == cast.bob


def test_it_leaves_an_explicit_choice_alone(cast: Cast) -> None:
    update_customer(cast.carol, owner_team=cast.billing)
    ticket = open_ticket(subject="a", body="b", requester=cast.carol, team=cast.support)
    assert ticket.team == cast.support
    assert not ticket.history.filter(action="routed").exists()
