"""A failure after some rows were written must leave nothing behind: no ticket, no message,
no history, no audit row, no search document."""

from __future__ import annotations

import pytest

from regulars.accounts.models import AuditLog
from regulars.core.models import SearchDocument
from regulars.core.testing import Cast
from regulars.tickets import services
from regulars.tickets.models import Message, Ticket, TicketEvent


class Boom(Exception):
    pass


def test_it_leaves_no_partial_ticket_and_no_orphan_audit_row(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit_before = AuditLog.objects.count()

    def explode(*args: object, **kwargs: object) -> None:
        raise Boom

    # record_audit runs after the ticket, message, history and search rows were written.
    monkeypatch.setattr(services, "record_audit", explode)
    with pytest.raises(Boom):
        services.open_ticket(subject="Half", body="written", requester=cast.carol)
    assert Ticket.objects.count() == 0
    assert Message.objects.count() == 0
    assert TicketEvent.objects.count() == 0
    assert SearchDocument.objects.exclude(kind="customer").count() == 0
    assert AuditLog.objects.count() == audit_before


def test_it_rolls_back_a_reply_whose_event_bookkeeping_fails(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = services.open_ticket(subject="Whole", body="ticket", requester=cast.carol)
    audit_before = AuditLog.objects.count()

    def explode(*args: object, **kwargs: object) -> None:
        raise Boom

    monkeypatch.setattr(services.events, "emit", explode)
    with pytest.raises(Boom):
        services.post_message(ticket, author=cast.bob, body="answer", public=True)
    ticket.refresh_from_db()
    assert ticket.messages.count() == 1
    assert ticket.status_category == "new"
    assert AuditLog.objects.count() == audit_before
    assert TicketEvent.objects.filter(ticket=ticket, action="message_added").count() == 0
