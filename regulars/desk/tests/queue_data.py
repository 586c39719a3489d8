"""Tickets for the queue tests, opened through the same services as real ones."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from regulars.accounts.models import Team, User
from regulars.core.testing import Cast
from regulars.customers.models import Customer
from regulars.tickets.models import Ticket
from regulars.tickets.services import open_ticket


def ticket(
    cast: Cast,
    subject: str,
    *,
    team: Team | None = None,
    assignee: User | None = None,
    requester: Customer | None = None,
    **fields: Any,
) -> Ticket:
    return open_ticket(
        subject=subject,
        body=f"About: {subject}",
        requester=requester or cast.carol,
        team=team,
        assignee=assignee,
        **fields,
    )


def signed_in(user: User, **client_options: Any) -> Client:
    client = Client(**client_options)
    client.force_login(user)
    return client


def numbers_on(response: Any) -> list[int]:
    """Ticket numbers in the order the queue lists them."""
    html = response.content.decode()
    return [int(n) for n in re.findall(r'href="/desk/tickets/(\d+)/" data-ticket-link', html)]


def put_at_risk(*tickets: Ticket, state: str = "breached") -> None:
    """Give these tickets SLA clocks whose first reply is ``state`` (the clocks job's verdict)."""
    from regulars.sla.models import TicketSla
    from regulars.sla.services import sync_ticket_slas

    sync_ticket_slas([t.pk for t in tickets])
    TicketSla.objects.filter(ticket__in=tickets).update(first_reply_state=state)
