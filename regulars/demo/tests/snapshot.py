"""A comparable picture of the demo data: content only, no keys or random public ids."""

from __future__ import annotations

from typing import Any

from regulars.accounts.models import AuditLog
from regulars.core.models import SearchDocument
from regulars.customers.models import Customer
from regulars.tickets.models import Message, Ticket, TicketEvent


def _scrub(value: Any) -> Any:
    """Public ids are random on the service path and seeded on the bulk path: compare their kind."""
    if isinstance(value, str) and value[:4] in ("msg_", "cus_", "org_"):
        return value[:4]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def snapshot() -> dict[str, Any]:
    base = min(Ticket.objects.values_list("number", flat=True), default=0)
    customers = sorted(
        (
            c.name,
            c.organisation.name if c.organisation else None,
            c.plan.slug if c.plan else None,
            str(c.lifetime_value),
            c.time_zone,
            c.language,
            c.created_at,
            tuple((i.kind, i.value, i.is_primary) for i in c.identities.order_by("id")),
            SearchDocument.objects.get(kind="customer", object_id=c.pk).body,
        )
        for c in Customer.objects.select_related("organisation", "plan")
    )
    tickets = []
    for t in Ticket.objects.select_related("status", "team", "assignee", "requester").order_by("number"):
        tickets.append(
            (
                t.number - base, t.subject, t.requester.name, t.status.slug, t.status_category, t.priority,
                t.priority_reason, t.ticket_type, t.channel, t.team.name if t.team else None,
                t.assignee.email if t.assignee else None, sorted(t.tags.values_list("name", flat=True)),
                t.created_at, t.updated_at, t.last_message_at, t.solved_at, t.closed_at, t.is_flagged,
                t.custom_fields,
                [
                    (m.kind, m.author_type, m.author_user.email if m.author_user else None,
                     m.author_customer.name if m.author_customer else None, m.channel, m.body_text,
                     m.body_html, m.created_at)
                    for m in Message.objects.filter(ticket=t).select_related("author_user", "author_customer")
                    .order_by("id")
                ],
                [
                    (e.action, e.field, _scrub(e.old), _scrub(e.new), e.actor.email if e.actor else None,
                     e.created_at)
                    for e in TicketEvent.objects.filter(ticket=t).select_related("actor").order_by("id")
                ],
                sorted(
                    (d.kind, d.body, d.customer_id == t.requester_id)
                    for d in SearchDocument.objects.filter(ticket_id=t.pk)
                ),
            )
        )  # fmt: skip
    audit = sorted(
        (a.action, a.object_type, a.actor.email if a.actor else "", repr(_scrub(a.data)))
        for a in AuditLog.objects.select_related("actor").exclude(
            action__in=["agent.created", "team.created", "plan.created"]
        )
    )
    return {"customers": customers, "tickets": tickets, "audit": audit}


def wipe() -> None:
    """Remove the customer and ticket data (staff stays), as if the demo never ran."""
    Ticket.objects.all().delete()
    SearchDocument.objects.all().delete()
    AuditLog.objects.all().delete()
    Customer.objects.all().delete()
    from regulars.customers.models import Organisation

    Organisation.objects.all().delete()
