"""Reads for the ticket workspace and the customer pages, built on each context's selectors.

Every ticket list here starts from ``tickets.selectors.visible_tickets``, so an agent who sees
only some teams' tickets sees only those in a customer's history too. Every list is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.db.models.functions import Left
from django.utils import timezone

from regulars.accounts.models import Role, Team, User
from regulars.customers.models import Customer, Identity, Organisation, SupportPlan
from regulars.customers.selectors import visible_customers
from regulars.desk.models import TicketPresence
from regulars.desk.services_presence import PRESENCE_WINDOW
from regulars.tickets.models import UNSOLVED_CATEGORIES, Message, Ticket
from regulars.tickets.selectors import visible_tickets

PANEL_TICKETS = 10
TIMELINE_ENTRIES = 15


def others_present(ticket: Ticket, viewer: User) -> list[TicketPresence]:
    """Other agents with this ticket open in the last ``PRESENCE_WINDOW``, typists first."""
    since = timezone.now() - PRESENCE_WINDOW
    rows = (
        TicketPresence.objects.filter(ticket=ticket, seen_at__gte=since)
        .exclude(agent=viewer)
        .select_related("agent")
    )
    return sorted(rows, key=lambda p: (p.state != TicketPresence.State.TYPING, str(p.agent)))


def customer_with_context(viewer: User, customer_id: int) -> Customer:
    """The customer with everything the panel shows joined in one query."""
    return (
        visible_customers(viewer)
        .select_related("organisation__plan", "organisation__owner", "organisation__backup_owner")
        .get(pk=customer_id)
    )


def customer_tickets(viewer: User, customer: Customer) -> QuerySet[Ticket]:
    return (
        visible_tickets(viewer)
        .filter(requester=customer)
        .select_related("status", "team", "assignee")
        .order_by("-id")
    )


def organisation_tickets(viewer: User, organisation: Organisation) -> QuerySet[Ticket]:
    return (
        visible_tickets(viewer)
        .filter(organisation=organisation)
        .select_related("status", "requester", "team", "assignee")
        .order_by("-id")
    )


def contact_timeline(viewer: User, customer: Customer, *, limit: int = TIMELINE_ENTRIES) -> list[Message]:
    """The latest public contacts with the customer on every channel, newest first: what they
    wrote and what we answered. Read through the customer's tickets (indexed by requester), with
    only an excerpt of each body."""
    return list(
        Message.objects.filter(
            # The subquery starts from the customer's tickets (requester index), never from
            # every ticket the agent may see.
            ticket__in=visible_tickets(viewer).filter(requester=customer).values("pk"),
            kind=Message.Kind.REPLY,
        )
        .select_related("ticket")
        .only(
            "public_id", "kind", "author_type", "channel", "created_at", "is_flagged", "ticket",
            "ticket__number", "ticket__subject",
        )
        .annotate(excerpt=Left("body_text", 160))
        .order_by("-id")[:limit]
    )  # fmt: skip


@dataclass
class CustomerPanel:
    """What an agent should know about a customer before answering them."""

    customer: Customer
    identities: list[Identity]
    plan: SupportPlan | None
    owner: User | None
    backup_owner: User | None
    owner_from_organisation: bool
    open_tickets: list[Ticket]
    recent_tickets: list[Ticket]
    timeline: list[Message] = field(default_factory=list)


def customer_panel(viewer: User, customer_id: int, *, exclude_ticket: Ticket | None = None) -> CustomerPanel:
    customer = customer_with_context(viewer, customer_id)
    org = customer.organisation
    owner, backup = customer.owner, customer.backup_owner
    from_org = False
    if owner is None and backup is None and org is not None:
        owner, backup, from_org = org.owner, org.backup_owner, True
    tickets = customer_tickets(viewer, customer)
    if exclude_ticket is not None:
        tickets = tickets.exclude(pk=exclude_ticket.pk)
    return CustomerPanel(
        customer=customer,
        identities=list(customer.identities.order_by("kind", "-is_primary", "value")[:20]),
        plan=customer.effective_plan,
        owner=owner,
        backup_owner=backup,
        owner_from_organisation=from_org,
        open_tickets=list(tickets.filter(status_category__in=UNSOLVED_CATEGORIES)[:PANEL_TICKETS]),
        recent_tickets=list(tickets.exclude(status_category__in=UNSOLVED_CATEGORIES)[:PANEL_TICKETS]),
        timeline=contact_timeline(viewer, customer),
    )


def assignable_agents() -> list[User]:
    """Who a ticket may be assigned to: active full agents (light agents only write notes)."""
    return list(
        User.objects.filter(is_active=True, role__in=(Role.ADMIN, Role.AGENT))
        .only("id", "public_id", "name", "email")
        .order_by("name", "email")
    )


def all_teams() -> list[Team]:
    return list(Team.objects.only("id", "public_id", "name").order_by("name"))


def is_full_agent(user: User) -> bool:
    """Light agents read and write internal notes; only full agents change tickets or customers."""
    return user.role in (Role.ADMIN, Role.AGENT)
