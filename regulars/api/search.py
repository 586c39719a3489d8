"""One search box over tickets and customers, filtered by the viewer's permissions."""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from ninja import Query, Router

from regulars.api.auth import viewer
from regulars.api.customers import customers_out, with_customer_relations
from regulars.api.errors import responses
from regulars.api.schemas import SearchOut
from regulars.api.tickets import tickets_out
from regulars.api.types import Text
from regulars.customers.models import Customer
from regulars.customers.selectors import search_customers
from regulars.tickets.selectors import search_tickets

router = Router(tags=["search"])


@router.get("/search", response=responses({200: SearchOut}), summary="Search tickets and customers")
def search(
    request: HttpRequest,
    q: Annotated[Text, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=50)] = 25,
) -> dict[str, Any]:
    """Customers find their own tickets (subjects and public replies only) and no customers."""
    user = viewer(request)
    tickets = search_tickets(user, q, limit=limit)
    prefetch_related_objects(tickets, "tags", "collaborators", "merged_into")
    found = search_customers(user, q, limit=limit)
    by_id = {c.pk: c for c in with_customer_relations(Customer.objects.filter(pk__in=[c.pk for c in found]))}
    customers = [by_id[c.pk] for c in found if c.pk in by_id]
    return {"tickets": tickets_out(tickets), "customers": customers_out(customers)}
