"""Reads of the channel context for agents: quarantine, outbox, health."""

from __future__ import annotations

from django.db.models import QuerySet

from regulars.accounts.models import User
from regulars.channels.email.models import InboundEmail, OutboundEmail
from regulars.core.errors import Forbidden, NotFound


def _agents_only(viewer: User) -> None:
    if not viewer.is_agent or not viewer.is_active:
        raise Forbidden("Only agents may see channel internals.", code="agents_only")


def quarantined(viewer: User) -> QuerySet[InboundEmail]:
    _agents_only(viewer)
    return (
        InboundEmail.objects.filter(status=InboundEmail.Status.QUARANTINED)
        .select_related("inbox")
        .defer("raw")
        .order_by("-id")
    )


def get_quarantined(viewer: User, public_id: str) -> InboundEmail:
    row = quarantined(viewer).filter(public_id=public_id).first()
    if row is None:
        raise NotFound("No such quarantined message.")
    return row


def outbox(viewer: User, state: str | None = None) -> QuerySet[OutboundEmail]:
    _agents_only(viewer)
    qs = OutboundEmail.objects.select_related("inbox", "ticket").order_by("-id")
    return qs.filter(state=state) if state else qs
