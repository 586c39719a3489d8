"""Tickets, their conversation, their history, merges and attachment downloads."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Path, Query, Router
from ninja import Status as Reply

from regulars.accounts.models import User
from regulars.api.auth import require_agent, viewer
from regulars.api.errors import responses
from regulars.api.paging import DEFAULT_LIMIT, CursorParam, Limit, decode_cursor, encode_cursor, split_page
from regulars.api.refs import agent_ref, agents_ref, customer_ref, team_ref, uploads
from regulars.api.schemas import (
    EventOut,
    EventPage,
    MergeTicketIn,
    MessageIn,
    MessageOut,
    MessagePage,
    TicketIn,
    TicketOut,
    TicketPage,
    TicketPatch,
)
from regulars.api.types import MAX_BIGINT
from regulars.core.errors import Forbidden, NotFound, ValidationFailed
from regulars.customers.models import Customer
from regulars.customers.selectors import customer_of
from regulars.customers.services import get_or_create_customer_by_email
from regulars.tickets import services
from regulars.tickets.attachments import download_response
from regulars.tickets.models import Attachment, Message, Status, StatusCategory, Ticket, TicketEvent
from regulars.tickets.selectors import (
    LIST_RELATED,
    TicketListFilters,
    get_attachment,
    get_ticket,
    ticket_item,
    ticket_list_page,
    visible_messages,
)

router = Router(tags=["tickets"])

NumberPath = Annotated[int, Path(ge=1, le=MAX_BIGINT)]
AttachmentId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^att_[0-9a-z]+$")]
FilterText = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[-a-z0-9_:.]+$")]
FilterId = Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[a-z]+_[0-9a-z]+$")]

# Customers see their ticket, not how the team works on it.
CUSTOMER_FIELDS_WHITELIST = frozenset({"subject", "body", "body_html", "ticket_type", "attachments"})


def with_list_relations(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Everything a TicketOut reads, in a fixed number of queries whatever the page size."""
    return qs.select_related(*LIST_RELATED, "merged_into").prefetch_related(
        "tags", Prefetch("collaborators", queryset=User.objects.only("id", "public_id"))
    )


def ticket_out(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status.slug,
        "status_category": ticket.status_category,
        "priority": ticket.priority,
        "priority_reason": ticket.priority_reason,
        "ticket_type": ticket.ticket_type,
        "channel": ticket.channel,
        "requester": ticket.requester.public_id,
        "organisation": ticket.organisation.public_id if ticket.organisation else None,
        "team": ticket.team.public_id if ticket.team else None,
        "assignee": ticket.assignee.public_id if ticket.assignee else None,
        "tags": sorted(t.name for t in ticket.tags.all()),
        "collaborators": sorted(u.public_id for u in ticket.collaborators.all()),
        "custom_fields": ticket.custom_fields,
        "merged_into": ticket.merged_into.number if ticket.merged_into else None,
        "is_flagged": ticket.is_flagged,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "last_message_at": ticket.last_message_at,
        "solved_at": ticket.solved_at,
        "closed_at": ticket.closed_at,
    }


def tickets_out(tickets: Iterable[Ticket]) -> list[dict[str, Any]]:
    return [ticket_out(t) for t in tickets]


def attachment_out(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.public_id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.blob.size,
        "url": reverse("api-v1:download_attachment", kwargs={"public_id": attachment.public_id}),
    }


def message_out(message: Message) -> dict[str, Any]:
    author = message.author_user or message.author_customer
    return {
        "id": message.public_id,
        "kind": message.kind,
        "public": message.is_public,
        "author_type": message.author_type,
        "author": author.public_id if author is not None else None,
        "channel": message.channel,
        "body_text": message.body_text,
        "body_html": message.body_html,
        "is_flagged": message.is_flagged,
        "created_at": message.created_at,
        "attachments": [attachment_out(a) for a in message.attachments.all()],
    }


def _utc(value: dt.datetime, field: str) -> dt.datetime:
    """``value`` in UTC (naive means UTC). PostgreSQL refuses odd offsets such as +21:48, and
    the edges of the calendar cannot be shifted, so both are a 422 rather than a 500."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    try:
        return aware.astimezone(dt.UTC)
    except OverflowError:
        raise ValidationFailed("The date is out of range.", fields={field: "out of range"}) from None


# --- tickets ----------------------------------------------------------------------------------


_CATEGORIES = frozenset(StatusCategory.values)  # .values builds a new list on every use


@router.get("/tickets", response=responses({200: TicketPage}), summary="List tickets")
def list_tickets(
    request: HttpRequest,
    status: FilterText = None,
    team: FilterId = None,
    assignee: Annotated[
        str | None, Query(min_length=1, max_length=40, pattern=r"^(none|[a-z]+_[0-9a-z]+)$")
    ] = None,
    requester: FilterId = None,
    tag: FilterText = None,
    updated_since: dt.datetime | None = None,
    order: Literal["-created", "updated"] = "-created",
    cursor: CursorParam = None,
    limit: Limit = DEFAULT_LIMIT,
) -> HttpResponse:
    """Newest first, or ``order=updated`` (oldest change first) for clients that sync.

    Paged by cursor: pass ``next_cursor`` back until it is null.
    """
    filters = TicketListFilters(
        status_category=status if status in _CATEGORIES else None,
        status_slug=status if status is not None and status not in _CATEGORIES else None,
        team=team,
        assignee=assignee,
        requester=requester,
        tag=tag,
        updated_since=_utc(updated_since, "updated_since") if updated_since is not None else None,
    )
    after: tuple[Any, ...] | None = None
    if cursor and order == "updated":
        stamp, last_id = decode_cursor(cursor, (str, int))
        try:
            when = dt.datetime.fromisoformat(stamp)
        except ValueError:
            raise ValidationFailed("The cursor is not valid.", fields={"cursor": "invalid"}) from None
        after = (_utc(when, "cursor"), last_id)
    elif cursor:
        after = tuple(decode_cursor(cursor, (int,)))
    items, last = ticket_list_page(
        viewer(request),
        filters,
        order=order,
        after=after,
        limit=limit,
        unchanged=getattr(request, "unchanged_memo", None),
    )
    next_cursor = None
    if last is not None:
        next_cursor = encode_cursor([last[0].isoformat(), last[1]] if order == "updated" else [last[0]])
    # The items are JSON the database wrote (ticket_list_page); only the envelope is built here.
    return _raw_json(b'{"items":' + items + b',"next_cursor":' + json.dumps(next_cursor).encode() + b"}")


def _requester_for(user: User, payload: TicketIn) -> Customer:
    if not user.is_agent:
        own = customer_of(user)
        if own is None:
            raise Forbidden("Only customers with a customer record may open tickets.")
        if payload.requester_id is not None and payload.requester_id != own.public_id:
            raise Forbidden("Customers may open tickets only for themselves.", code="not_own_ticket")
        if (
            payload.requester_email is not None
            and not own.identities.filter(
                kind="email", value=payload.requester_email.strip().lower()
            ).exists()
        ):
            raise Forbidden("Customers may open tickets only for themselves.", code="not_own_ticket")
        return own
    if payload.requester_id is not None:
        return customer_ref(user, payload.requester_id, "requester_id")
    if payload.requester_email is not None:
        return get_or_create_customer_by_email(
            payload.requester_email, name=payload.requester_name, actor=user
        )
    raise ValidationFailed(
        "Name the requester by requester_email or requester_id.", fields={"requester_email": "required"}
    )


@router.post("/tickets", response=responses({201: TicketOut}), summary="Open a ticket")
def create_ticket(request: HttpRequest, payload: TicketIn) -> HttpResponse:
    """Agents open tickets for anyone (a new email address becomes a new customer); customers
    open tickets for themselves only, and may not set how the team handles them."""
    user = viewer(request)
    if not user.is_agent:
        extra = payload.model_fields_set - CUSTOMER_FIELDS_WHITELIST - {"requester_id", "requester_email"}
        if extra:
            raise Forbidden(
                "Customers cannot set these fields.",
                code="agent_fields",
                fields={f: "agents only" for f in extra},
            )
    requester = _requester_for(user, payload)
    ticket = services.open_ticket(
        subject=payload.subject,
        body=payload.body,
        body_html=payload.body_html,
        requester=requester,
        actor=user,
        channel=payload.channel,
        priority=payload.priority,
        priority_reason=payload.priority_reason,
        ticket_type=payload.ticket_type,
        team=team_ref(user, payload.team),
        assignee=agent_ref(user, payload.assignee),
        tags=payload.tags,
        custom_fields=payload.custom_fields,
        attachments=uploads(payload.attachments),
    )
    created = ticket_item(None, pk=ticket.pk)
    assert created is not None
    return _raw_json(created, status=201)


@router.get("/tickets/{number}", response=responses({200: TicketOut}), summary="Get a ticket")
def read_ticket(request: HttpRequest, number: NumberPath) -> HttpResponse:
    item = ticket_item(viewer(request), number=number)
    if item is None:
        # 404 rather than 403: a customer must not learn that someone else's ticket exists.
        raise NotFound("No such ticket.")
    return _raw_json(item)


def _raw_json(body: str | bytes, status: int = 200) -> HttpResponse:
    """A body the selectors wrote as JSON text, sent without re-validation (the schema test,
    schemathesis, checks these responses still conform to their schema)."""
    return HttpResponse(body, status=status, content_type="application/json")


@router.patch("/tickets/{number}", response=responses({200: TicketOut}), summary="Change a ticket")
def change_ticket(request: HttpRequest, number: NumberPath, payload: TicketPatch) -> dict[str, Any]:
    """Only the fields sent change. ``team`` or ``assignee`` null clears them; ``tags`` replaces
    the tags. Customers may only set a solved status; light agents change nothing."""
    user = viewer(request)
    ticket = get_ticket(user, number)
    sent = payload.model_fields_set
    changes: dict[str, Any] = {}
    for field in ("subject", "priority", "ticket_type", "tags", "custom_fields"):
        if field in sent:
            value = getattr(payload, field)
            if value is None:
                raise ValidationFailed(f"{field} cannot be null.", fields={field: "required"})
            changes[field] = value
    if "priority_reason" in sent:
        changes["priority_reason"] = payload.priority_reason or ""
    if "status" in sent:
        status = Status.objects.filter(slug=payload.status).first() if payload.status else None
        if status is None:
            raise ValidationFailed("No such status.", fields={"status": "not found"})
        changes["status"] = status
    if "team" in sent:
        changes["team"] = team_ref(user, payload.team)
    if "assignee" in sent:
        changes["assignee"] = agent_ref(user, payload.assignee)
    if "collaborators" in sent:
        changes["collaborators"] = agents_ref(user, payload.collaborators or [], "collaborators")
    services.update_ticket(ticket, actor=user, **changes)
    return ticket_out(with_list_relations(Ticket.objects.filter(pk=ticket.pk)).get())


@router.post("/tickets/{number}/merge", response=responses({200: TicketOut}), summary="Merge a ticket")
def merge_ticket(request: HttpRequest, number: NumberPath, payload: MergeTicketIn) -> dict[str, Any]:
    """Fold this ticket into ``into``; returns the ticket that remains."""
    user = viewer(request)
    require_agent(user)
    source = get_ticket(user, number)
    try:
        target = get_ticket(user, payload.into)
    except NotFound:
        raise ValidationFailed("No such ticket.", fields={"into": "not found"}) from None
    services.merge_tickets(source, target, actor=user)
    return ticket_out(with_list_relations(Ticket.objects.filter(pk=target.pk)).get())


# --- conversation and history -----------------------------------------------------------------


@router.get("/tickets/{number}/messages", response=responses({200: MessagePage}), summary="List messages")
def list_messages(
    request: HttpRequest, number: NumberPath, cursor: CursorParam = None, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    """Oldest first. Customers see public replies only."""
    user = viewer(request)
    qs = visible_messages(user, get_ticket(user, number))
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        qs = qs.filter(id__gt=last_id)
    rows, more = split_page(list(qs[: limit + 1]), limit)
    return {
        "items": [message_out(m) for m in rows],
        "next_cursor": encode_cursor([rows[-1].pk]) if more else None,
    }


@router.post(
    "/tickets/{number}/messages", response=responses({201: MessageOut}), summary="Reply or add a note"
)
def create_message(request: HttpRequest, number: NumberPath, payload: MessageIn) -> Reply[dict[str, Any]]:
    """``public: true`` is a reply the requester sees; ``false`` an internal note (agents only).
    Light agents may only write notes."""
    user = viewer(request)
    ticket = get_ticket(user, number)
    message = services.post_message(
        ticket,
        author=user,
        body=payload.body,
        body_html=payload.body_html,
        public=payload.public,
        attachments=uploads(payload.attachments),
    )
    fresh = Message.objects.select_related("author_user", "author_customer").prefetch_related(
        "attachments__blob"
    )
    return Reply(201, message_out(fresh.get(pk=message.pk)))


@router.get("/tickets/{number}/history", response=responses({200: EventPage}), summary="Ticket history")
def ticket_history(
    request: HttpRequest, number: NumberPath, cursor: CursorParam = None, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    """Every change, oldest first. Agents only: history mentions internal notes."""
    user = viewer(request)
    require_agent(user)
    ticket = get_ticket(user, number)
    qs = TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("id")
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        qs = qs.filter(id__gt=last_id)
    rows, more = split_page(list(qs[: limit + 1]), limit)
    items = [
        EventOut(
            action=e.action,
            field=e.field,
            old=e.old,
            new=e.new,
            actor=e.actor.public_id if e.actor else None,
            created_at=e.created_at,
        )
        for e in rows
    ]
    return {"items": items, "next_cursor": encode_cursor([rows[-1].pk]) if more else None}


# --- attachments ------------------------------------------------------------------------------


@router.get(
    "/attachments/{public_id}",
    response=responses({200: None}),
    url_name="download_attachment",
    summary="Download an attachment",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file, always as a download.",
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def download_attachment(request: HttpRequest, public_id: AttachmentId) -> FileResponse:
    """Always served as a download, never rendered inline, so an uploaded HTML or SVG file
    cannot run script in our origin."""
    attachment = get_attachment(viewer(request), public_id)
    return download_response(attachment)
