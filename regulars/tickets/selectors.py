"""Reads of tickets and messages. The one permission policy for tickets lives here.

Every transport (API, desk, portal, search, export) asks these functions; none filters
tickets on its own.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from regulars.accounts.models import Role, TicketScope, User
from regulars.core.errors import NotFound
from regulars.core.search import search
from regulars.customers.selectors import customer_of
from regulars.tickets.models import Attachment, Message, Ticket

LIST_RELATED = ("requester", "organisation", "status", "team", "assignee")


def visible_tickets(viewer: User) -> QuerySet[Ticket]:
    qs = Ticket.objects.all()
    if not viewer.is_active:
        return qs.none()
    if viewer.role == Role.ADMIN:
        return qs
    if viewer.is_agent:
        if viewer.ticket_scope == TicketScope.ALL:
            return qs
        collaborating = Exists(
            Ticket.collaborators.through.objects.filter(ticket_id=OuterRef("pk"), user_id=viewer.pk)
        )
        mine = Q(assignee=viewer) | Q(collaborating)
        if viewer.ticket_scope == TicketScope.TEAMS:
            mine |= Q(team__in=viewer.teams.values("id"))
        return qs.filter(mine)
    customer = customer_of(viewer)
    if customer is None:
        return qs.none()
    own = Q(requester=customer)
    plan = customer.effective_plan
    if customer.organisation_id is not None and plan is not None and plan.organisation_wide_visibility:
        own |= Q(organisation_id=customer.organisation_id)
    return qs.filter(own)


def get_ticket(viewer: User, number: int) -> Ticket:
    ticket = visible_tickets(viewer).select_related(*LIST_RELATED).filter(number=number).first()
    if ticket is None:
        # 404 rather than 403: a customer must not learn that someone else's ticket exists.
        raise NotFound("No such ticket.")
    return ticket


def visible_messages(viewer: User, ticket: Ticket) -> QuerySet[Message]:
    qs = (
        Message.objects.filter(ticket=ticket)
        .select_related("author_user", "author_customer")
        .prefetch_related("attachments__blob")
    )
    if not viewer.is_agent:
        qs = qs.filter(kind=Message.Kind.REPLY)
    return qs.order_by("id")


def get_attachment(viewer: User, public_id: str) -> Attachment:
    attachment = (
        Attachment.objects.select_related("message__ticket", "blob").filter(public_id=public_id).first()
    )
    if attachment is None:
        raise NotFound("No such attachment.")
    message = attachment.message
    visible = visible_tickets(viewer).filter(pk=message.ticket_id).exists()
    if not visible or (not viewer.is_agent and message.kind != Message.Kind.REPLY):
        raise NotFound("No such attachment.")
    return attachment


def search_tickets(viewer: User, q: str, *, limit: int = 25) -> list[Ticket]:
    """Tickets matching ``q`` that ``viewer`` may see, best first.

    Customers search subjects and public replies only, so a match inside an internal note can
    never reveal itself to them.
    """
    kinds = ["ticket", "message", "note"] if viewer.is_agent else ["ticket", "message"]
    ordered: list[int] = []
    seen: set[int] = set()
    for hit in search(q, kinds=kinds, limit=max(limit * 8, 200), enough=limit):
        if hit.ticket_id is not None and hit.ticket_id not in seen:
            seen.add(hit.ticket_id)
            ordered.append(hit.ticket_id)
    if not ordered:
        return []
    found = {t.pk: t for t in visible_tickets(viewer).filter(pk__in=ordered).select_related(*LIST_RELATED)}
    return [found[pk] for pk in ordered if pk in found][:limit]
