"""On their ticket a customer replies, marks it solved, and rates the service once it is solved."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from regulars.accounts.models import AuditLog
from regulars.core.testing import Cast
from regulars.customers.services import create_customer, create_plan, update_organisation
from regulars.portal.tests.conftest import signed_in
from regulars.tickets.models import Message, SatisfactionRating, StatusCategory, Ticket, TicketEvent
from regulars.tickets.services import default_status, open_ticket, update_ticket

pytestmark = pytest.mark.django_db


def _solve(ticket: Ticket, cast: Cast) -> None:
    update_ticket(ticket, actor=cast.bob, status=default_status(StatusCategory.SOLVED))


def test_it_adds_the_customers_reply_with_files(carol: Client, carol_ticket: Ticket) -> None:
    response = carol.post(
        f"/portal/tickets/{carol_ticket.number}/reply/",
        {
            "body": "Here is the receipt.",
            "attachments": SimpleUploadedFile("receipt.txt", b"paid", "text/plain"),
        },
    )
    assert response.status_code == 302
    reply = Message.objects.filter(ticket=carol_ticket).order_by("-id").first()
    assert reply is not None
    assert reply.body_text == "Here is the receipt."
    assert reply.author_type == Message.AuthorType.CUSTOMER and reply.channel == "web"
    assert reply.attachments.get().filename == "receipt.txt"
    assert b"Here is the receipt." in carol.get(f"/portal/tickets/{carol_ticket.number}/").content


def test_it_refuses_a_reply_on_someone_elses_ticket(erin: Client, carol_ticket: Ticket) -> None:
    response = erin.post(f"/portal/tickets/{carol_ticket.number}/reply/", {"body": "Hi"})
    assert response.status_code == 404
    assert carol_ticket.messages.count() == 1


def test_it_lets_the_customer_mark_their_ticket_solved_with_history(
    cast: Cast, carol: Client, carol_ticket: Ticket
) -> None:
    response = carol.post(f"/portal/tickets/{carol_ticket.number}/solved/")
    assert response.status_code == 302
    carol_ticket.refresh_from_db()
    assert carol_ticket.status_category == StatusCategory.SOLVED
    assert TicketEvent.objects.filter(
        ticket=carol_ticket, action="status_changed", actor=cast.carol_user
    ).exists()


def test_it_refuses_to_solve_someone_elses_ticket(erin: Client, carol_ticket: Ticket) -> None:
    assert erin.post(f"/portal/tickets/{carol_ticket.number}/solved/").status_code == 404
    carol_ticket.refresh_from_db()
    assert carol_ticket.status_category != StatusCategory.SOLVED


def test_it_refuses_a_rating_before_the_ticket_is_solved(carol: Client, carol_ticket: Ticket) -> None:
    response = carol.post(f"/portal/tickets/{carol_ticket.number}/rating/", {"score": "5"})
    assert response.status_code == 409
    assert b"once it is solved" in response.content
    assert not SatisfactionRating.objects.exists()


def test_it_records_a_rating_once_per_ticket_and_lets_it_change(
    cast: Cast, carol: Client, carol_ticket: Ticket
) -> None:
    _solve(carol_ticket, cast)
    page = carol.get(f"/portal/tickets/{carol_ticket.number}/").content.decode()
    assert "Rate our service" in page
    assert (
        carol.post(
            f"/portal/tickets/{carol_ticket.number}/rating/", {"score": "2", "comment": "Slow"}
        ).status_code
        == 302
    )
    assert (
        carol.post(
            f"/portal/tickets/{carol_ticket.number}/rating/", {"score": "4", "comment": "Fixed well"}
        ).status_code
        == 302
    )
    rating = SatisfactionRating.objects.get()
    assert (rating.ticket, rating.customer, rating.score, rating.comment) == (
        carol_ticket,
        cast.carol,
        4,
        "Fixed well",
    )
    history = list(TicketEvent.objects.filter(ticket=carol_ticket, action="rated").order_by("id"))
    assert [e.new["score"] for e in history] == [2, 4]
    assert history[1].old == {"score": 2, "comment": "Slow"}
    assert AuditLog.objects.filter(action="ticket.rated", actor=cast.carol_user).count() == 2


def test_it_refuses_a_rating_from_another_customer(cast: Cast, erin: Client, carol_ticket: Ticket) -> None:
    _solve(carol_ticket, cast)
    assert erin.post(f"/portal/tickets/{carol_ticket.number}/rating/", {"score": "1"}).status_code == 404
    assert not SatisfactionRating.objects.exists()


def test_it_lets_only_the_requester_rate_even_when_colleagues_see_the_ticket(
    cast: Cast, carol_ticket: Ticket
) -> None:
    plan = create_plan(name="Team", slug="team", organisation_wide_visibility=True)
    update_organisation(cast.acme, plan=plan)
    colleague = create_customer(name="Colin Colleague", emails=["colin@acme.example"])
    from regulars.core.testing import customer_login

    customer_login(colleague, "colin@acme.example")
    _solve(carol_ticket, cast)
    colin = signed_in("colin@acme.example")
    assert colin.get(f"/portal/tickets/{carol_ticket.number}/").status_code == 200
    response = colin.post(f"/portal/tickets/{carol_ticket.number}/rating/", {"score": "1"})
    assert response.status_code == 403
    assert b"Only the requester" in response.content
    assert not SatisfactionRating.objects.exists()


def test_it_answers_an_out_of_range_rating_with_a_form_error(
    cast: Cast, carol: Client, carol_ticket: Ticket
) -> None:
    _solve(carol_ticket, cast)
    response = carol.post(f"/portal/tickets/{carol_ticket.number}/rating/", {"score": "9"})
    assert response.status_code == 422
    assert b"Select a valid choice" in response.content
    response = carol.post(f"/portal/tickets/{carol_ticket.number}/rating/", {})
    assert response.status_code == 422
    assert b"Please choose a rating from 1 to 5." in response.content
    assert not SatisfactionRating.objects.exists()


def test_it_reopens_a_solved_ticket_when_the_customer_replies(cast: Cast, carol: Client) -> None:
    ticket = open_ticket(subject="Still broken", body="Hmm", requester=cast.carol)
    _solve(ticket, cast)
    carol.post(f"/portal/tickets/{ticket.number}/reply/", {"body": "Not fixed after all."})
    ticket.refresh_from_db()
    assert ticket.status_category == StatusCategory.OPEN
