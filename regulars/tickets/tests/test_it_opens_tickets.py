from __future__ import annotations

import pytest

from regulars.accounts.models import AuditLog
from regulars.core.models import SearchDocument
from regulars.core.testing import Cast
from regulars.tickets.models import Message, Ticket, TicketEvent
from regulars.tickets.services import open_ticket


def test_it_numbers_tickets_in_order_and_never_reuses_a_number(cast: Cast) -> None:
    first = open_ticket(subject="Printer on fire", body="It is on fire.", requester=cast.carol)
    second = open_ticket(subject="Still on fire", body="Really.", requester=cast.carol)
    assert second.number == first.number + 1
    first.delete()
    third = open_ticket(subject="Third", body="Hello", requester=cast.erin)
    assert third.number == second.number + 1


def test_it_stores_the_request_as_the_customers_first_public_message(cast: Cast) -> None:
    ticket = open_ticket(subject="Refund", body="Please refund order 7.", requester=cast.carol, channel="web")
    message = ticket.messages.get()
    assert message.kind == Message.Kind.REPLY
    assert message.author_customer == cast.carol
    assert message.body_text == "Please refund order 7."
    assert message.body_html == "<p>Please refund order 7.</p>"
    assert ticket.status.slug == "new" and ticket.status_category == "new"
    assert ticket.organisation == cast.acme  # carol's address is on acme.example


def test_it_records_history_audit_and_search_rows_in_the_same_write(cast: Cast) -> None:
    ticket = open_ticket(subject="Broken login", body="Cannot sign in", requester=cast.carol, actor=cast.bob)
    assert TicketEvent.objects.filter(ticket=ticket, action="created").count() == 1
    audit = AuditLog.objects.get(action="ticket.created")
    assert audit.actor == cast.bob and audit.object_id == str(ticket.number)
    assert SearchDocument.objects.filter(kind="ticket", object_id=ticket.pk, body="Broken login").exists()
    assert SearchDocument.objects.filter(kind="message", ticket_id=ticket.pk).count() == 1


def test_it_opens_an_assigned_ticket_as_open(cast: Cast) -> None:
    ticket = open_ticket(subject="Hi", body="Hi", requester=cast.carol, assignee=cast.bob, team=cast.support)
    assert ticket.status_category == "open"
    assert ticket.assignee == cast.bob


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"subject": "   "}, "subject"),
        ({"subject": "x" * 251}, "subject"),
        ({"body": ""}, "body"),
        ({"priority": "whenever"}, "priority"),
        ({"channel": "pigeon"}, "channel"),
        ({"tags": ["no spaces allowed!"]}, "tags"),
    ],
)
def test_it_refuses_bad_input_with_a_field_error(cast: Cast, kwargs: dict, field: str) -> None:
    from regulars.core.errors import ValidationFailed

    args = {"subject": "Fine", "body": "Fine", "requester": cast.carol, **kwargs}
    with pytest.raises(ValidationFailed) as excinfo:
        open_ticket(**args)
    assert field in excinfo.value.fields
    assert Ticket.objects.count() == 0


def test_it_sanitises_html_before_storing_it(cast: Cast) -> None:
    ticket = open_ticket(
        subject="HTML",
        body="",
        body_html='<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:evil()">link</a></p>',
        requester=cast.carol,
    )
    html = ticket.messages.get().body_html
    assert "script" not in html and "onclick" not in html and "javascript:" not in html
    assert ticket.messages.get().body_text.startswith("Hi")


def test_it_flags_a_blocked_customers_ticket_and_does_not_ask_to_notify(
    cast: Cast, django_capture_on_commit_callbacks
) -> None:
    from regulars.core import events
    from regulars.customers.services import block_customer

    block_customer(cast.erin, reason="abusive language", actor=cast.alice)
    seen: list[dict] = []
    events.subscribe("ticket.created", lambda name, payload: seen.append(payload))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ticket = open_ticket(subject="You again", body="rude words", requester=cast.erin)
    finally:
        events._handlers["ticket.created"].clear()
    assert ticket.is_flagged and ticket.messages.get().is_flagged
    assert seen == [{"ticket_id": ticket.pk, "message_id": ticket.messages.get().pk, "notify": False}]
