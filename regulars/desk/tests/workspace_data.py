"""A realistic conversation for the ticket workspace tests, built through the services."""

from __future__ import annotations

from decimal import Decimal

from django.test import Client

from regulars.accounts.models import User
from regulars.core.testing import Cast
from regulars.customers.services import add_identity, create_plan, update_customer
from regulars.tickets.attachments import Upload
from regulars.tickets.models import Channel, Ticket
from regulars.tickets.services import open_ticket, post_message, post_system_event


def agent_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def give_carol_context(cast: Cast) -> None:
    """Carol as the panel should show her: a plan, a value, an owner, a phone, notes."""
    plan = create_plan(name="Business", slug="business", named_contact=True)
    update_customer(
        cast.carol, plan=plan, lifetime_value=Decimal("12500.50"), owner=cast.bob, backup_owner=cast.dave,
        organisation=cast.acme, notes="Prefers phone calls in the morning.",
    )  # fmt: skip
    add_identity(cast.carol, "phone", "+44 20 7946 0000")


def conversation(cast: Cast, *, replies: int = 1, subject: str = "Invoice export is empty") -> Ticket:
    """A Support ticket from Carol by email with ``replies`` exchanges, each with a file."""
    ticket = open_ticket(
        subject=subject,
        body="The CSV export of my invoices has no rows since Monday.",
        requester=cast.carol,
        channel=Channel.EMAIL,
        team=cast.support,
        attachments=[Upload("export.csv", "text/csv", b"date,amount\n")],
    )
    for i in range(replies):
        post_message(
            ticket, author=cast.bob, body=f"Could you send a screenshot? ({i})", public=True, channel=Channel.EMAIL,
            attachments=[Upload(f"steps-{i}.txt", "text/plain", f"step {i}".encode())],
        )  # fmt: skip
        post_message(
            ticket, author=cast.carol_user, body=f"Here it is ({i})", public=True, channel=Channel.EMAIL,
            attachments=[Upload(f"screen-{i}.png", "image/png", f"png {i}".encode())],
        )  # fmt: skip
    post_message(ticket, author=cast.charlie, body="Same as the export bug in #1001, I think.", public=False)
    post_system_event(ticket, text="Delivery report: the reply reached acme.example.")
    return ticket
