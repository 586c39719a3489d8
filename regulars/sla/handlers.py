"""Reactions to ticket and customer events. Each one re-derives the clocks it touches, so a
handler that failed (only logged by the event bus) is repaired by the periodic reconcile."""

from __future__ import annotations

from typing import Any

from regulars.sla.services import sync_ticket_slas
from regulars.tickets.models import StatusCategory, Ticket

PLAN_FIELDS = frozenset({"plan", "organisation"})


def on_ticket_changed(name: str, payload: dict[str, Any]) -> None:
    ids = [payload.get(key) for key in ("ticket_id", "source_id", "target_id")]
    sync_ticket_slas([i for i in ids if isinstance(i, int)])


def on_customer_updated(name: str, payload: dict[str, Any]) -> None:
    if not PLAN_FIELDS & set(payload.get("fields") or ()):
        return
    ids = Ticket.objects.filter(requester_id=payload["customer_id"]).exclude(
        status_category=StatusCategory.CLOSED
    )
    sync_ticket_slas(list(ids.values_list("pk", flat=True)))
