"""A customer sees their own tickets (and their organisation's where the plan allows), nobody else's."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from regulars.core.testing import Cast
from regulars.customers.services import create_customer, create_plan, update_organisation
from regulars.portal.tests.conftest import signed_in
from regulars.tickets.models import Channel, Message, Ticket
from regulars.tickets.services import open_ticket, post_message

pytestmark = pytest.mark.django_db


def test_it_lists_the_customers_own_tickets(carol: Client, erin: Client, carol_ticket: Ticket) -> None:
    page = carol.get("/portal/tickets/")
    assert page.status_code == 200
    assert b"The invoice total is wrong" in page.content
    assert b"The invoice total is wrong" not in erin.get("/portal/tickets/").content


def test_it_answers_404_to_another_customer_on_the_ticket_page(erin: Client, carol_ticket: Ticket) -> None:
    response = erin.get(f"/portal/tickets/{carol_ticket.number}/")
    assert response.status_code == 404
    assert b"The invoice total is wrong" not in response.content


def test_it_answers_404_to_another_customer_on_an_attachment(
    carol: Client, erin: Client, carol_ticket: Ticket
) -> None:
    attachment = carol_ticket.messages.get().attachments.get()
    url = f"/portal/attachments/{attachment.public_id}/"
    assert erin.get(url).status_code == 404
    own = carol.get(url)
    assert own.status_code == 200
    assert own["Content-Disposition"].startswith("attachment")
    assert own["X-Content-Type-Options"] == "nosniff"
    assert own["Content-Type"] == "application/octet-stream"
    assert b"".join(own.streaming_content) == b"%PDF-1.4 carol"  # type: ignore[attr-defined]


def test_it_never_shows_internal_notes_or_their_files(
    cast: Cast, carol: Client, carol_ticket: Ticket
) -> None:
    from regulars.tickets.attachments import Upload

    note = post_message(
        carol_ticket, author=cast.bob, body="Customer seems confused", public=False,
        attachments=[Upload(filename="internal.txt", content_type="text/plain", data=b"secret")],
    )  # fmt: skip
    page = carol.get(f"/portal/tickets/{carol_ticket.number}/")
    assert b"Customer seems confused" not in page.content
    assert carol.get(f"/portal/attachments/{note.attachments.get().public_id}/").status_code == 404


def test_it_shows_the_organisations_tickets_marked_as_such_when_the_plan_allows(cast: Cast) -> None:
    colleague = create_customer(name="Colin Colleague", emails=["colin@acme.example"])
    theirs = open_ticket(subject="Printer on fire", body="Smoke.", requester=colleague, channel=Channel.EMAIL)
    carol = signed_in("carol@acme.example")
    assert b"Printer on fire" not in carol.get("/portal/tickets/").content
    assert carol.get(f"/portal/tickets/{theirs.number}/").status_code == 404

    plan = create_plan(name="Team", slug="team", organisation_wide_visibility=True)
    update_organisation(cast.acme, plan=plan)
    page = carol.get("/portal/tickets/").content.decode()
    assert "Printer on fire" in page
    assert "from Colin Colleague" in page
    assert carol.get(f"/portal/tickets/{theirs.number}/").status_code == 200


def test_it_lists_tickets_in_a_fixed_number_of_queries(cast: Cast, carol: Client) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert carol.get("/portal/tickets/").status_code == 200
        return len(captured.captured_queries)

    open_ticket(subject="First", body="Hello", requester=cast.carol, channel=Channel.WEB)
    few = queries()
    for i in range(12):
        open_ticket(subject=f"Question {i}", body="Hello", requester=cast.carol, channel=Channel.WEB)
    assert queries() == few <= 10


def test_it_sends_visitors_who_are_not_signed_in_to_sign_in(carol_ticket: Ticket) -> None:
    response = Client().get(f"/portal/tickets/{carol_ticket.number}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_keeps_agents_out_of_the_portal_pages(cast: Cast) -> None:
    bob = signed_in("bob@regulars.test", "bob-password-1")
    assert bob.get("/portal/tickets/").status_code == 403


def test_it_shows_the_public_conversation(cast: Cast, carol: Client, carol_ticket: Ticket) -> None:
    post_message(carol_ticket, author=cast.bob, body="We are on it.", public=True)
    page = carol.get(f"/portal/tickets/{carol_ticket.number}/").content.decode()
    assert "Please check invoice 42." in page
    assert "We are on it." in page
    assert Message.objects.filter(ticket=carol_ticket).count() == 2
