"""Bulk actions from a queue: each ticket through update_ticket, within the viewer's rights."""

from __future__ import annotations

import pytest

from regulars.accounts.models import AuditLog
from regulars.core.testing import Cast
from regulars.desk.tests.queue_data import signed_in, ticket
from regulars.tickets.models import Status, Ticket, TicketEvent
from regulars.tickets.services import update_ticket

pytestmark = pytest.mark.django_db


def _reload(*tickets: Ticket) -> list[Ticket]:
    return [Ticket.objects.get(pk=t.pk) for t in tickets]


def test_it_assigns_selected_tickets(cast: Cast) -> None:
    one, two, untouched = (ticket(cast, f"T{i}", team=cast.support) for i in range(3))
    response = signed_in(cast.bob).post(
        "/desk/bulk/",
        {"tickets": [one.number, two.number], "assignee": cast.bob.public_id, "next": "/desk/queues/teams/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/desk/queues/teams/"
    assert b"Updated 2 tickets" in response.content
    one, two, untouched = _reload(one, two, untouched)
    assert one.assignee == cast.bob and two.assignee == cast.bob and untouched.assignee is None
    # Through the service: history and audit, one per ticket.
    assert TicketEvent.objects.filter(action="assignee_changed").count() == 2
    assert AuditLog.objects.filter(action="ticket.updated", actor=cast.bob).count() == 2


def test_it_changes_status_and_adds_a_tag_keeping_the_other_tags(cast: Cast) -> None:
    one = ticket(cast, "Tagged", team=cast.support, tags=["vip"])
    two = ticket(cast, "Plain", team=cast.support)
    signed_in(cast.bob).post(
        "/desk/bulk/", {"tickets": [one.number, two.number], "status": "pending", "tag": "Follow up"}
    )
    one, two = _reload(one, two)
    assert one.status_category == two.status_category == "pending"
    assert sorted(one.tags.values_list("name", flat=True)) == ["follow-up", "vip"]
    assert list(two.tags.values_list("name", flat=True)) == ["follow-up"]


def test_it_can_unassign(cast: Cast) -> None:
    one = ticket(cast, "Held", team=cast.support, assignee=cast.bob)
    signed_in(cast.bob).post("/desk/bulk/", {"tickets": [one.number], "assignee": "none"})
    assert _reload(one)[0].assignee is None


def test_it_refuses_a_light_agent_changing_status(cast: Cast) -> None:
    one = ticket(cast, "Light touch", team=cast.support)
    response = signed_in(cast.charlie).post(
        "/desk/bulk/", {"tickets": [one.number], "status": "solved"}, follow=True
    )
    assert _reload(one)[0].status_category == "new"
    assert b"Light agents cannot change tickets" in response.content
    assert not TicketEvent.objects.filter(ticket=one, action="status_changed").exists()


def test_it_offers_light_agents_no_bulk_controls(cast: Cast) -> None:
    ticket(cast, "Visible to charlie", team=cast.support)
    response = signed_in(cast.charlie).get("/desk/queues/teams/")
    assert b"Visible to charlie" in response.content
    assert b"Apply to selected" not in response.content


def test_it_leaves_alone_a_ticket_the_viewer_may_not_see(cast: Cast) -> None:
    billing = ticket(cast, "Billing's", team=cast.billing)
    support = ticket(cast, "Support's", team=cast.support)
    response = signed_in(cast.dave).post(
        "/desk/bulk/", {"tickets": [billing.number, support.number], "tag": "seen", "assignee": cast.dave.public_id},
        follow=True,
    )  # fmt: skip
    billing, support = _reload(billing, support)
    assert billing.assignee == cast.dave
    assert support.assignee is None and not support.tags.exists()
    assert not TicketEvent.objects.filter(ticket=support).exclude(action="created").exists()
    # The refusal does not say whose ticket it is, nor its subject.
    assert b"1 ticket could not be found" in response.content
    assert b"Support&#x27;s" not in response.content


def test_it_reports_a_ticket_the_rules_refuse_and_changes_the_rest(cast: Cast) -> None:
    closed = ticket(cast, "Closed already", team=cast.support)
    update_ticket(closed, actor=cast.bob, status=Status.objects.get(slug="closed"))
    open_one = ticket(cast, "Still open", team=cast.support)
    response = signed_in(cast.bob).post(
        "/desk/bulk/", {"tickets": [closed.number, open_one.number], "tag": "sweep"}, follow=True
    )
    assert b"Updated 1 ticket." in response.content
    assert f"#{closed.number}".encode() in response.content
    assert b"Closed tickets cannot change" in response.content
    assert list(_reload(open_one)[0].tags.values_list("name", flat=True)) == ["sweep"]


def test_it_asks_for_something_to_change(cast: Cast) -> None:
    one = ticket(cast, "Nothing asked", team=cast.support)
    response = signed_in(cast.bob).post("/desk/bulk/", {"tickets": [one.number]}, follow=True)
    assert b"Choose an assignee, a status or a tag" in response.content


def test_it_asks_for_at_least_one_ticket(cast: Cast) -> None:
    response = signed_in(cast.bob).post("/desk/bulk/", {"tag": "x"}, follow=True)
    assert b"Select at least one ticket" in response.content


def test_it_never_redirects_off_the_desk(cast: Cast) -> None:
    one = ticket(cast, "T", team=cast.support)
    response = signed_in(cast.bob).post(
        "/desk/bulk/", {"tickets": [one.number], "tag": "x", "next": "https://evil.example/desk/"}
    )
    assert response["Location"] == "/desk/"


def test_it_refuses_assigning_to_a_light_agent(cast: Cast) -> None:
    one = ticket(cast, "T", team=cast.support)
    response = signed_in(cast.bob).post(
        "/desk/bulk/", {"tickets": [one.number], "assignee": cast.charlie.public_id}, follow=True
    )
    assert _reload(one)[0].assignee is None
    assert b"not one of the available choices" in response.content
