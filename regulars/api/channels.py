"""Channels: inbox health, the email quarantine (what did not become a message) and the outbox."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema

from regulars.api.auth import require_agent, require_full_agent, viewer
from regulars.api.errors import responses
from regulars.channels.email.ingest import reprocess
from regulars.channels.email.models import InboundEmail, OutboundEmail
from regulars.channels.models import Inbox
from regulars.channels.selectors import get_quarantined, outbox, quarantined
from regulars.channels.services import health_state

router = Router(tags=["channels"])

InboundId = Annotated[str, Path(min_length=5, max_length=40, pattern=r"^inm_[0-9a-z]+$")]
Limit = Annotated[int, Query(ge=1, le=200)]


class InboxHealthOut(Schema):
    id: str
    name: str
    kind: str
    addresses: list[str]
    state: Literal["green", "red"]
    last_success_at: dt.datetime | None
    last_error_at: dt.datetime | None
    last_error: str
    failing_since: dt.datetime | None


class QuarantinedOut(Schema):
    id: str
    inbox: str
    received_at: dt.datetime
    sender: str
    subject: str
    status: str
    reason: str
    ticket: int | None = None
    deliveries: int


class OutboundOut(Schema):
    id: str
    ticket: int
    kind: str
    state: str
    to: str
    subject: str
    message_id: str
    attempts: int
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None
    relay_response: str
    last_error: str


def _inbound_out(row: InboundEmail) -> QuarantinedOut:
    return QuarantinedOut(
        id=row.public_id, inbox=row.inbox.name, received_at=row.received_at, sender=row.sender,
        subject=row.subject, status=row.status, reason=row.reason,
        ticket=row.ticket.number if row.ticket_id and row.ticket else None, deliveries=row.deliveries,
    )  # fmt: skip


@router.get("/channels/health", response=responses({200: list[InboxHealthOut]}))
def channel_health(request: HttpRequest) -> list[InboxHealthOut]:
    require_agent(viewer(request))
    return [
        InboxHealthOut(
            id=i.public_id,
            name=i.name,
            kind=i.kind,
            addresses=i.addresses,
            state=health_state(i),  # type: ignore[arg-type]
            last_success_at=i.last_success_at,
            last_error_at=i.last_error_at,
            last_error=i.last_error,
            failing_since=i.failing_since,
        )
        for i in Inbox.objects.order_by("name")
    ]


@router.get("/channels/quarantine", response=responses({200: list[QuarantinedOut]}))
def list_quarantine(request: HttpRequest, limit: Limit = 50) -> list[QuarantinedOut]:
    rows = quarantined(viewer(request)).select_related("ticket")[:limit]
    return [_inbound_out(row) for row in rows]


@router.post("/channels/quarantine/{inbound_id}/reprocess", response=responses({200: QuarantinedOut}))
def reprocess_quarantined(request: HttpRequest, inbound_id: InboundId) -> QuarantinedOut:
    user = viewer(request)
    require_full_agent(user)
    row = reprocess(get_quarantined(user, inbound_id))
    row = InboundEmail.objects.select_related("inbox", "ticket").defer("raw").get(pk=row.pk)
    return _inbound_out(row)


@router.get("/channels/outbox", response=responses({200: list[OutboundOut]}))
def list_outbox(
    request: HttpRequest,
    state: Annotated[Literal["queued", "sending", "sent", "failed", "bounced"] | None, Query()] = None,
    limit: Limit = 50,
) -> list[OutboundOut]:
    rows: list[OutboundEmail] = list(outbox(viewer(request), state)[:limit])
    return [
        OutboundOut(
            id=r.public_id,
            ticket=r.ticket.number,
            kind=r.kind,
            state=r.state,
            to=r.to_address,
            subject=r.subject,
            message_id=r.message_id,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at,
            sent_at=r.sent_at,
            relay_response=r.relay_response,
            last_error=r.last_error,
        )
        for r in rows
    ]
