"""Reads of customers and organisations with the one permission policy applied."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from regulars.accounts.models import User
from regulars.core.errors import NotFound
from regulars.core.search import search
from regulars.customers.models import Customer, Organisation


def customer_of(user: User) -> Customer | None:
    """The customer record a signed-in customer acts as (None for agents)."""
    if user.is_agent:
        return None
    return (
        Customer.objects.filter(user=user)
        .select_related("organisation", "plan", "organisation__plan")
        .first()
    )


def visible_customers(viewer: User) -> QuerySet[Customer]:
    """Agents see every customer; a customer sees only themselves."""
    qs = Customer.objects.select_related("organisation", "plan", "owner", "backup_owner")
    if viewer.is_agent:
        return qs
    return qs.filter(user=viewer) if viewer.is_active else qs.none()


def get_customer(viewer: User, public_id: str) -> Customer:
    customer = visible_customers(viewer).filter(public_id=public_id).first()
    if customer is None:
        raise NotFound("No such customer.")
    return customer


def visible_organisations(viewer: User) -> QuerySet[Organisation]:
    if viewer.is_agent:
        return Organisation.objects.select_related("plan", "owner", "backup_owner")
    return Organisation.objects.filter(Q(customers__user=viewer)).select_related("plan").distinct()


def get_organisation(viewer: User, public_id: str) -> Organisation:
    org = visible_organisations(viewer).filter(public_id=public_id).first()
    if org is None:
        raise NotFound("No such organisation.")
    return org


def search_customers(viewer: User, q: str, *, limit: int = 25) -> list[Customer]:
    """Customers whose name, organisation or identities match ``q``. Agents only."""
    if not viewer.is_agent:
        return []
    ids = [hit.object_id for hit in search(q, kinds=["customer"], limit=limit)]
    found = {c.pk: c for c in visible_customers(viewer).filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]
