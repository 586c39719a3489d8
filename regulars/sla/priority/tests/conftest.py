from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from regulars.core.models import CustomFieldDefinition
from regulars.customers.models import Customer
from regulars.customers.services import create_customer
from regulars.sla.priority.models import PriorityAssessment
from regulars.sla.priority.services import assess_ticket
from regulars.tickets.models import Ticket
from regulars.tickets.services import open_ticket

NOW = dt.datetime(2025, 3, 4, 10, 0, tzinfo=dt.UTC)
_serial = itertools.count(1)


def customer(value: int | Decimal = 0, name: str = "") -> Customer:
    n = next(_serial)
    return create_customer(
        name=name or f"Customer {n}", emails=[f"c{n}@people.example"], lifetime_value=value
    )


def ticket(
    requester: Customer, subject: str = "A question about invoices", body: str = "Where is it?", **kw: Any
) -> Ticket:
    return open_ticket(subject=subject, body=body, requester=requester, **kw)


def assessed(t: Ticket, now: dt.datetime | None = None) -> tuple[Ticket, PriorityAssessment]:
    assessment = assess_ticket(t, now=now or t.created_at)
    assert assessment is not None
    return Ticket.objects.get(pk=t.pk), assessment


def ticket_field(key: str) -> None:
    CustomFieldDefinition.objects.create(target="ticket", key=key, label=key.title(), field_type="text")
