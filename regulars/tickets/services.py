"""Writes for tickets and messages: every change in one transaction, with history and audit."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from regulars.accounts.models import Role, Team, User
from regulars.accounts.services import record_audit
from regulars.core import events, fastsql
from regulars.core.custom_fields import clean_custom_fields, merge_custom_fields
from regulars.core.errors import Conflict, Forbidden, ValidationFailed
from regulars.core.html import html_to_text, sanitise_html, text_to_html
from regulars.core.models import CustomFieldDefinition, SearchDocument
from regulars.core.search import index_document
from regulars.customers.models import Customer, Organisation
from regulars.customers.selectors import customer_of
from regulars.tickets.attachments import Upload, safe_filename, store_blob
from regulars.tickets.models import (
    Attachment,
    Channel,
    Message,
    Priority,
    SatisfactionRating,
    Status,
    StatusCategory,
    Tag,
    Ticket,
    TicketEvent,
    TicketType,
)
from regulars.tickets.selectors import visible_tickets

MAX_SUBJECT = 250
MAX_BODY = 200_000
MAX_TAGS = 50
_TAG_OK = re.compile(r"^[a-z0-9][a-z0-9_\-:.]{0,63}$")


# --- helpers -------------------------------------------------------------------------------


def next_ticket_number() -> int:
    """A new human-friendly ticket number.

    PostgreSQL: a sequence, so concurrent writers never wait on each other. SQLite: writers are
    already serialised by the IMMEDIATE write lock, so MAX+1 inside the transaction is safe.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('tickets_ticket_number_seq')")
            return int(cursor.fetchone()[0])
    current = fastsql.execute('SELECT MAX("number") FROM "tickets_ticket"')[0][0]
    return int(current or 1000) + 1


def _send_next_ticket_number() -> fastsql.Pending:
    """:func:`next_ticket_number` sent without waiting; on SQLite the answer is MAX, add one."""
    if connection.vendor == "postgresql":
        return fastsql.send("SELECT nextval('tickets_ticket_number_seq')")
    return fastsql.send('SELECT MAX("number") FROM "tickets_ticket"')


def _default_among(statuses: list[Status], category: str) -> Status:
    for status in statuses:
        if status.category == category:
            return status
    raise Conflict(f"No default status for {category}; an admin must define one.", code="no_default_status")


def default_status(category: str) -> Status:
    found = fastsql.select(
        Status, '"category" = %s AND "is_default"', [category], order_by='"position", "id"'
    )
    status = found[0] if found else None
    if status is None:
        raise Conflict(
            f"No default status for {category}; an admin must define one.", code="no_default_status"
        )
    return status


def normalise_tags(tags: Iterable[str]) -> list[str]:
    cleaned = []
    for raw in tags:
        tag = raw.strip().lower().replace(" ", "-")
        if not _TAG_OK.match(tag):
            raise ValidationFailed(
                f"{raw!r} is not a valid tag.", fields={"tags": "letters, digits, - _ : . only"}
            )
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ValidationFailed(f"At most {MAX_TAGS} tags.", fields={"tags": "too many"})
    return cleaned


def _tag_objects(names: list[str]) -> list[Tag]:
    existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=n) for n in names if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    return [existing[n] for n in names]


def _tag_new_ticket(ticket: Ticket, names: list[str]) -> None:
    """Tag a ticket that has no tags yet: two statements, whatever the number of tags."""
    # Only placeholders are formatted into the SQL; the names are parameters.
    rows = ", ".join(["(%s)"] * len(names))
    fastsql.run(f'INSERT INTO "tickets_tag" ("name") VALUES {rows} ON CONFLICT ("name") DO NOTHING', names)  # noqa: S608
    fastsql.run(
        'INSERT INTO "tickets_ticket_tags" ("ticket_id", "tag_id") SELECT %s, "id" FROM "tickets_tag" '  # noqa: S608
        f'WHERE "name" IN ({", ".join(["%s"] * len(names))})',
        [ticket.pk, *names],
    )


def _current_requester(pk: int) -> Customer:
    """The customer as stored now, following merges to the survivor, with its organisation."""
    while True:
        found = fastsql.select(Customer, '"id" = %s', [pk])
        if not found:
            raise Customer.DoesNotExist(f"No customer {pk}.")
        customer = found[0]
        if customer.merged_into_id is None:  # a merged customer's mail belongs to the survivor
            break
        pk = customer.merged_into_id
    if customer.organisation_id is not None:
        customer.organisation = fastsql.select(Organisation, '"id" = %s', [customer.organisation_id])[0]
    else:
        customer.organisation = None
    return customer


def _check_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    if not subject:
        raise ValidationFailed("A ticket needs a subject.", fields={"subject": "required"})
    if len(subject) > MAX_SUBJECT:
        raise ValidationFailed(
            f"A subject is at most {MAX_SUBJECT} characters.", fields={"subject": "too long"}
        )
    return subject


def _body(text: str, html: str | None) -> tuple[str, str]:
    if html:
        clean_html = sanitise_html(html)
        text = text or html_to_text(clean_html)
    else:
        clean_html = text_to_html(text)
    if not text.strip():
        raise ValidationFailed("A message needs a body.", fields={"body": "required"})
    if len(text) > MAX_BODY or len(clean_html) > 2 * MAX_BODY:
        raise ValidationFailed(f"A message is at most {MAX_BODY} characters.", fields={"body": "too long"})
    return text, clean_html


def _check_assignee(assignee: User | None) -> None:
    if assignee is not None and (assignee.role not in (Role.ADMIN, Role.AGENT) or not assignee.is_active):
        raise ValidationFailed(
            "Tickets can be assigned to active agents only.", fields={"assignee": "not an agent"}
        )


def _history(
    ticket: Ticket, actor: User | None, action: str, field: str = "", old: Any = None, new: Any = None
) -> None:
    fastsql.insert(
        TicketEvent(ticket=ticket, actor=actor, action=action, field=field, old=old, new=new), need_pk=False
    )


def _plain(value: Any) -> Any:
    if isinstance(value, User | Team | Customer):
        return value.public_id
    if isinstance(value, Status):
        return value.slug
    return value


def _index_ticket(ticket: Ticket, *, new: bool = False) -> None:
    index_document(
        "ticket", ticket.pk, ticket.subject, ticket_id=ticket.pk, customer_id=ticket.requester_id, new=new
    )


def _index_message(message: Message, requester_id: int) -> None:
    kind = "message" if message.kind == Message.Kind.REPLY else "note"
    # Messages are only ever indexed right after they are created.
    index_document(
        kind, message.pk, message.body_text, ticket_id=message.ticket_id, customer_id=requester_id, new=True
    )


def _attach(message: Message, uploads: Sequence[Upload]) -> list[Attachment]:
    rows = []
    for upload in uploads:
        blob = store_blob(upload.data)
        rows.append(
            Attachment(
                message=message,
                blob=blob,
                filename=safe_filename(upload.filename),
                content_type=(upload.content_type or "application/octet-stream")[:120],
                is_inline=upload.is_inline,
            )
        )
    return Attachment.objects.bulk_create(rows)


# --- opening -------------------------------------------------------------------------------


def _active_agent(person: User | None) -> User | None:
    if person is not None and person.is_active and person.role in (Role.ADMIN, Role.AGENT):
        return person
    return None


def route_new_ticket(requester: Customer) -> tuple[Team | None, User | None, str]:
    """Where a new ticket goes when nobody said: the chain of ownership that ends in a person.

    Team: the customer's owning team, else its backup, else the organisation's owning team or its
    backup. Assignee: only when the customer's plan includes a named contact (support plans decide
    how much personal contact a customer gets): the customer's owner, else their backup, else the
    organisation's owner, else its backup, skipping anyone deactivated or not a full agent.
    """
    owners = [requester] + ([requester.organisation] if requester.organisation is not None else [])
    team_ids = [i for o in owners for i in (o.owner_team_id, o.backup_team_id) if i is not None]
    people_ids = [i for o in owners for i in (o.owner_id, o.backup_owner_id) if i is not None]
    if not team_ids and not people_ids:
        return None, None, ""  # the common case costs no query
    team = Team.objects.get(pk=team_ids[0]) if team_ids else None
    plan = requester.effective_plan
    assignee = None
    if people_ids and plan is not None and plan.named_contact:
        found = {u.pk: u for u in User.objects.filter(pk__in=people_ids)}
        assignee = next((a for a in (_active_agent(found.get(i)) for i in people_ids) if a is not None), None)
    reasons = []
    if team is not None:
        reasons.append(f"team {team.name} owns this customer")
    if assignee is not None:
        reasons.append(f"{assignee.name or assignee.email} is the named contact")
    return team, assignee, "; ".join(reasons)


@transaction.atomic
def open_ticket(
    *,
    subject: str,
    body: str,
    requester: Customer,
    actor: User | None = None,
    body_html: str | None = None,
    channel: str = Channel.API,
    priority: str | None = None,
    priority_reason: str = "",
    ticket_type: str = TicketType.QUESTION,
    team: Team | None = None,
    assignee: User | None = None,
    tags: Iterable[str] = (),
    custom_fields: dict[str, Any] | None = None,
    attachments: Sequence[Upload] = (),
    follow_up_of: Ticket | None = None,
) -> Ticket:
    """Open a ticket whose first message is the requester's request."""
    subject = _check_subject(subject)
    text, html = _body(body, body_html)
    if channel not in Channel.values:
        raise ValidationFailed(f"Unknown channel {channel!r}.", fields={"channel": "invalid"})
    if ticket_type not in TicketType.values:
        raise ValidationFailed(f"Unknown type {ticket_type!r}.", fields={"ticket_type": "invalid"})
    if priority is not None and priority not in Priority.values:
        raise ValidationFailed(f"Unknown priority {priority!r}.", fields={"priority": "invalid"})
    _check_assignee(assignee)
    with fastsql.pipeline():
        return _open(
            subject, text, html, requester.pk, actor, channel, priority, priority_reason, ticket_type,
            team, assignee, normalise_tags(tags), custom_fields or {}, attachments, follow_up_of,
        )  # fmt: skip


def _open(
    subject: str,
    text: str,
    html: str,
    requester_id: int,
    actor: User | None,
    channel: str,
    priority: str | None,
    priority_reason: str,
    ticket_type: str,
    team: Team | None,
    assignee: User | None,
    tag_names: list[str],
    custom_fields: dict[str, Any],
    attachments: Sequence[Upload],
    follow_up_of: Ticket | None,
) -> Ticket:
    # Everything this write reads is asked for at once (one round trip on PostgreSQL): the
    # requester and its organisation (owners and plans are read only when routing needs them),
    # the ticket custom fields, the default statuses and, on PostgreSQL, the new keys.
    pending_customer = fastsql.send_select(Customer, '"id" = %s', [requester_id])
    pending_org = fastsql.send_select(
        Organisation,
        '"id" = (SELECT "organisation_id" FROM "customers_customer" WHERE "id" = %s)',
        [requester_id],
    )
    pending_fields = fastsql.send_select(CustomFieldDefinition, '"target" = %s', ["ticket"])
    pending_statuses = fastsql.send_select(
        Status, '"category" IN (%s, %s) AND "is_default"', [StatusCategory.NEW, StatusCategory.OPEN],
        order_by='"position", "id"',
    )  # fmt: skip
    pending_ids = fastsql.reserve_ids(Ticket, Message)
    pending_number = _send_next_ticket_number()
    found = pending_customer.rows()
    if not found:
        raise Customer.DoesNotExist(f"No customer {requester_id}.")
    requester = found[0]
    if requester.merged_into_id is not None:  # a merged customer's mail belongs to the survivor
        requester = _current_requester(requester.merged_into_id)
    else:
        orgs = pending_org.rows()
        requester.organisation = orgs[0] if orgs else None
    definitions = pending_fields.rows()
    statuses = pending_statuses.rows()
    ticket_id, message_id = pending_ids.rows()[0] if pending_ids is not None else (None, None)
    number = int(pending_number.rows()[0][0] or 1000)
    if connection.vendor != "postgresql":
        number += 1  # SQLite: MAX + 1, safe under the IMMEDIATE write lock
    routing = ""
    if team is None and assignee is None:
        team, assignee, routing = route_new_ticket(requester)
    cleaned_fields = clean_custom_fields("ticket", custom_fields, partial=False, definitions=definitions)
    now = timezone.now()
    status = _default_among(statuses, StatusCategory.OPEN if assignee else StatusCategory.NEW)
    ticket = Ticket(
        id=ticket_id,
        number=number,
        subject=subject,
        requester=requester,
        organisation_id=requester.organisation_id,
        status=status,
        status_category=status.category,
        priority=priority or Priority.NORMAL,
        priority_reason=priority_reason or ("set when opened" if priority else "default"),
        ticket_type=ticket_type,
        channel=channel,
        team=team,
        assignee=assignee,
        custom_fields=cleaned_fields,
        follow_up_of=follow_up_of,
        is_flagged=requester.is_blocked,
        last_message_at=now,
    )
    fastsql.insert(ticket)
    if tag_names:
        _tag_new_ticket(ticket, tag_names)
    message = Message(
        id=message_id,
        ticket=ticket,
        kind=Message.Kind.REPLY,
        author_type=Message.AuthorType.CUSTOMER,
        author_customer=requester,
        channel=channel,
        body_text=text,
        body_html=html,
        is_flagged=requester.is_blocked,
    )
    fastsql.insert(message)
    _attach(message, attachments)
    _index_ticket(ticket, new=True)
    _index_message(message, requester.pk)
    _history(
        ticket, actor, "created", new={"status": status.slug, "priority": ticket.priority, "channel": channel}
    )
    if follow_up_of is not None:
        # Every way of opening a follow-up (agent, email, portal) leaves the link on both tickets.
        _history(follow_up_of, actor, "follow_up_opened", "", None, {"ticket": ticket.number})
    if routing:
        _history(
            ticket, actor, "routed", "assignee",
            None, {"team": _plain(team), "assignee": _plain(assignee), "reason": routing},
        )  # fmt: skip
    record_audit(
        actor, "ticket.created", "ticket", str(ticket.number), channel=channel, requester=requester.public_id
    )
    events.emit(
        "ticket.created",
        ticket_id=ticket.pk,
        message_id=message.pk,
        # A blocked customer's ticket is kept as evidence but must not page or notify anyone.
        notify=not requester.is_blocked,
    )
    return ticket


# --- messages ------------------------------------------------------------------------------


def _stored_times(*values: Any) -> list[Any]:
    """Times for a raw statement, as Django stores them. SQLite's own adapter would write an aware
    time as text with "+00:00", which the JSON built in SQL and text comparisons do not expect."""
    return [connection.ops.adapt_datetimefield_value(value) for value in values]


@transaction.atomic
def post_message(
    ticket: Ticket,
    *,
    author: User | None,
    body: str,
    public: bool,
    body_html: str | None = None,
    channel: str = Channel.API,
    attachments: Sequence[Upload] = (),
    as_customer: Customer | None = None,
) -> Message:
    """Add a public reply or an internal note.

    ``author`` is the signed-in person (agent or customer). Channels that receive a customer's
    message without a signed-in user pass ``author=None`` and ``as_customer``.
    """
    with fastsql.pipeline():
        return _post(ticket.pk, author, body, public, body_html, channel, attachments, as_customer)


def _post(
    ticket_id: int,
    author: User | None,
    body: str,
    public: bool,
    body_html: str | None,
    channel: str,
    attachments: Sequence[Upload],
    as_customer: Customer | None,
) -> Message:
    # The ticket row is locked (PostgreSQL) and, with the new message's key, read in one round trip.
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    pending_ticket = fastsql.send_select(Ticket, '"id" = %s' + lock, [ticket_id])
    pending_ids = fastsql.reserve_ids(Message)
    found = pending_ticket.rows()
    if not found:
        raise Ticket.DoesNotExist(f"No ticket {ticket_id}.")
    ticket = found[0]
    message_id = pending_ids.rows()[0][0] if pending_ids is not None else None
    customer = as_customer
    if author is not None and not author.is_agent:
        customer = customer_of(author)
        if customer is None or not visible_tickets(author).filter(pk=ticket.pk).exists():
            raise Forbidden("You cannot write on this ticket.")
    if author is not None and author.is_agent:
        if public and author.role == Role.LIGHT_AGENT:
            raise Forbidden("Light agents may only write internal notes.", code="light_agent_public_reply")
        kind = Message.Kind.REPLY if public else Message.Kind.NOTE
        author_type = Message.AuthorType.AGENT
    elif customer is not None:
        if not public:
            raise Forbidden("Customers cannot write internal notes.", code="customer_note")
        kind, author_type = Message.Kind.REPLY, Message.AuthorType.CUSTOMER
    else:
        raise Forbidden("A message needs an author.")
    if ticket.merged_into_id is not None:
        raise Conflict(
            "This ticket was merged; write on the ticket it was merged into.", code="ticket_merged"
        )
    if ticket.status_category == StatusCategory.CLOSED:
        raise Conflict("This ticket is closed; open a follow-up instead.", code="ticket_closed")
    text, html = _body(body, body_html)
    flagged = bool(customer is not None and customer.is_blocked)
    message = fastsql.insert(
        Message(
            id=message_id,
            ticket=ticket,
            kind=kind,
            author_type=author_type,
            author_user=author if author is not None and author.is_agent else None,
            author_customer=customer if author_type == Message.AuthorType.CUSTOMER else None,
            channel=channel,
            body_text=text,
            body_html=html,
            is_flagged=flagged,
        )
    )
    _attach(message, attachments)
    _index_message(message, ticket.requester_id)
    ticket.last_message_at = message.created_at
    ticket.updated_at = timezone.now()
    new_category = _status_after_message(ticket, kind, author_type)
    if new_category is None:
        fastsql.run(
            'UPDATE "tickets_ticket" SET "last_message_at" = %s, "updated_at" = %s WHERE "id" = %s',
            [*_stored_times(ticket.last_message_at, ticket.updated_at), ticket.pk],
        )
    else:
        old_status = fastsql.select(Status, '"id" = %s', [ticket.status_id])[0]
        ticket.status = default_status(new_category)
        ticket.status_category = new_category
        ticket.solved_at = None
        fastsql.run(
            'UPDATE "tickets_ticket" SET "last_message_at" = %s, "updated_at" = %s, "status_id" = %s, '
            '"status_category" = %s, "solved_at" = NULL WHERE "id" = %s',
            [
                *_stored_times(ticket.last_message_at, ticket.updated_at),
                ticket.status_id,
                new_category,
                ticket.pk,
            ],
        )
        _history(ticket, author, "status_changed", "status", old_status.slug, ticket.status.slug)
    _history(ticket, author, "message_added", kind, None, message.public_id)
    record_audit(author, f"ticket.{kind}_added", "ticket", str(ticket.number), message=message.public_id)
    events.emit(
        "message.created",
        ticket_id=ticket.pk,
        message_id=message.pk,
        kind=kind,
        author_type=author_type,
        notify=not flagged,
    )
    return message


def _status_after_message(ticket: Ticket, kind: str, author_type: str) -> str | None:
    """The usual help-desk flow: an agent's first public answer opens a new ticket; a customer's
    reply reopens a ticket that was waiting on them or already solved."""
    category = ticket.status_category
    if kind != Message.Kind.REPLY:
        return None
    if author_type == Message.AuthorType.AGENT and category == StatusCategory.NEW:
        return StatusCategory.OPEN
    if author_type == Message.AuthorType.CUSTOMER and category in (
        StatusCategory.PENDING,
        StatusCategory.SOLVED,
    ):
        return StatusCategory.OPEN
    return None


@transaction.atomic
def post_system_event(
    ticket: Ticket, *, text: str, channel: str = Channel.API, actor: User | None = None
) -> Message:
    """Record something that happened to a ticket (a delivery report, a drill, a routing change)
    as a system event in its conversation: seen by agents, never by customers, searchable by
    agents, with history and audit like any other message."""
    text = text.strip()
    if not text:
        raise ValidationFailed("A system event needs text.", fields={"text": "required"})
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.EVENT,
        author_type=Message.AuthorType.SYSTEM,
        channel=channel,
        body_text=text[:MAX_BODY],
        body_html=text_to_html(text[:MAX_BODY]),
    )
    _index_message(message, ticket.requester_id)
    _history(ticket, actor, "message_added", Message.Kind.EVENT, None, message.public_id)
    record_audit(actor, "ticket.event_added", "ticket", str(ticket.number), message=message.public_id)
    events.emit(
        "message.created", ticket_id=ticket.pk, message_id=message.pk, kind=Message.Kind.EVENT,
        author_type=Message.AuthorType.SYSTEM, notify=False,
    )  # fmt: skip
    return message


@transaction.atomic
def route_ticket(ticket: Ticket, *, team: Team, reason: str, actor: User | None = None) -> Ticket:
    """Send an unrouted ticket to a team on behalf of a rule (triage). A ticket that already has a
    team or an assignee keeps them: people and ownership routing decided first."""
    ticket = Ticket.objects.select_for_update(of=("self",)).get(pk=ticket.pk)
    if ticket.team_id is not None or ticket.assignee_id is not None:
        return ticket
    if ticket.status_category in (StatusCategory.SOLVED, StatusCategory.CLOSED):
        return ticket
    ticket.team = team
    ticket.save(update_fields=["team", "updated_at"])
    _history(ticket, actor, "routed", "team", None, {"team": team.public_id, "reason": reason[:500]})
    record_audit(
        actor, "ticket.routed", "ticket", str(ticket.number), team=team.public_id, reason=reason[:500]
    )
    events.emit("ticket.updated", ticket_id=ticket.pk, fields=["team"])
    return ticket


# --- changes -------------------------------------------------------------------------------

AGENT_FIELDS = frozenset(
    {"subject", "status", "priority", "priority_reason", "ticket_type", "team", "assignee", "tags", "custom_fields",
     "collaborators", "requester"}
)  # fmt: skip
CUSTOMER_FIELDS = frozenset({"status"})


@transaction.atomic
def update_ticket(ticket: Ticket, *, actor: User, **changes: Any) -> Ticket:
    """Apply field changes, recording each in the ticket's history.

    Agents change any field; light agents none; a customer may only mark their ticket solved.
    A priority change needs a reason, so every ticket can say why it has its priority.
    """
    unknown = set(changes) - AGENT_FIELDS
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={k: "unknown" for k in sorted(unknown)})
    if actor.role == Role.LIGHT_AGENT:
        raise Forbidden(
            "Light agents cannot change tickets; add an internal note instead.", code="light_agent_update"
        )
    customer_may = set(changes) <= CUSTOMER_FIELDS and (
        "status" not in changes or changes["status"].category == StatusCategory.SOLVED
    )
    if not actor.is_agent and not customer_may:
        raise Forbidden("Customers may only mark their ticket solved.", code="customer_update")
    if not visible_tickets(actor).filter(pk=ticket.pk).exists():
        raise Forbidden("You cannot change this ticket.")
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("status", "team", "assignee", "requester")
        .get(pk=ticket.pk)
    )
    if ticket.status_category == StatusCategory.CLOSED:
        raise Conflict("Closed tickets cannot change; open a follow-up instead.", code="ticket_closed")

    update_fields: list[str] = []

    def change(field: str, new: Any, *, column: str | None = None) -> None:
        old = getattr(ticket, field)
        if old == new:
            return
        setattr(ticket, field, new)
        update_fields.append(column or field)
        _history(ticket, actor, f"{field}_changed", field, _plain(old), _plain(new))

    if "subject" in changes:
        change("subject", _check_subject(changes["subject"]))
    if "ticket_type" in changes:
        if changes["ticket_type"] not in TicketType.values:
            raise ValidationFailed("Unknown type.", fields={"ticket_type": "invalid"})
        change("ticket_type", changes["ticket_type"])
    if "priority" in changes and changes["priority"] != ticket.priority:
        if changes["priority"] not in Priority.values:
            raise ValidationFailed("Unknown priority.", fields={"priority": "invalid"})
        reason = (changes.get("priority_reason") or "").strip()
        if not reason:
            raise ValidationFailed("Say why the priority changes.", fields={"priority_reason": "required"})
        change("priority", changes["priority"])
        change("priority_reason", f"{reason} ({actor.name or actor.email})")
    if "team" in changes:
        change("team", changes["team"])
    if "assignee" in changes:
        _check_assignee(changes["assignee"])
        change("assignee", changes["assignee"])
    if "requester" in changes:
        requester = changes["requester"]
        change("requester", requester)
        ticket.organisation_id = requester.organisation_id
        update_fields.append("organisation")
    if "status" in changes:
        status: Status = changes["status"]
        if status.pk != ticket.status_id:
            change("status", status)
            ticket.status_category = status.category
            now = timezone.now()
            ticket.solved_at = (
                now if status.category in (StatusCategory.SOLVED, StatusCategory.CLOSED) else None
            )
            ticket.closed_at = now if status.category == StatusCategory.CLOSED else None
            update_fields += ["status_category", "solved_at", "closed_at"]
    if "custom_fields" in changes:
        cleaned = clean_custom_fields("ticket", changes["custom_fields"] or {})
        change("custom_fields", merge_custom_fields(ticket.custom_fields, cleaned))
    if "tags" in changes:
        names = normalise_tags(changes["tags"])
        old_names = sorted(ticket.tags.values_list("name", flat=True))
        if sorted(names) != old_names:
            ticket.tags.set(_tag_objects(names))
            _history(ticket, actor, "tags_changed", "tags", old_names, sorted(names))
            update_fields.append("updated_at")
    if "collaborators" in changes:
        people = list(changes["collaborators"])
        if any(not p.is_agent for p in people):
            raise ValidationFailed("Collaborators must be agents.", fields={"collaborators": "not an agent"})
        old_ids = sorted(ticket.collaborators.values_list("public_id", flat=True))
        new_ids = sorted(p.public_id for p in people)
        if old_ids != new_ids:
            ticket.collaborators.set(people)
            _history(ticket, actor, "collaborators_changed", "collaborators", old_ids, new_ids)
            update_fields.append("updated_at")

    if update_fields:
        ticket.save(update_fields=sorted({*update_fields, "updated_at"}))
        if "subject" in update_fields or "requester" in update_fields:
            _index_ticket(ticket)
        record_audit(actor, "ticket.updated", "ticket", str(ticket.number), fields=sorted(set(update_fields)))
        events.emit("ticket.updated", ticket_id=ticket.pk, fields=sorted(set(update_fields)))
    return ticket


@transaction.atomic
def merge_tickets(source: Ticket, target: Ticket, *, actor: User) -> Ticket:
    """Fold ``source`` into ``target``: its conversation moves, and ``source`` is closed with a
    link to ``target``, so nothing is lost and old links still lead somewhere."""
    if not actor.is_agent or actor.role == Role.LIGHT_AGENT:
        raise Forbidden("Only agents can merge tickets.")
    visible = visible_tickets(actor)
    if not visible.filter(pk=source.pk).exists() or not visible.filter(pk=target.pk).exists():
        raise Forbidden("You cannot merge these tickets.")
    if source.pk == target.pk:
        raise ValidationFailed("A ticket cannot be merged into itself.", code="same_ticket")
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id is not None or target.merged_into_id is not None:
        raise Conflict("One of these tickets was already merged.", code="already_merged")
    if target.status_category == StatusCategory.CLOSED:
        raise Conflict("Cannot merge into a closed ticket.", code="ticket_closed")
    moved_ids = list(source.messages.values_list("pk", flat=True))
    source.messages.update(ticket=target)
    SearchDocument.objects.filter(kind__in=["message", "note"], object_id__in=moved_ids).update(
        ticket_id=target.pk
    )
    target.tags.add(*source.tags.all())
    if source.requester_id != target.requester_id:
        # The other requester keeps being answered: their identity stays visible on the target.
        _history(target, actor, "requester_merged", "requester", None, source.requester.public_id)
    closed = default_status(StatusCategory.CLOSED)
    now = timezone.now()
    old_status = source.status.slug
    source.merged_into = target
    source.status = closed
    source.status_category = closed.category
    source.closed_at = now
    source.solved_at = source.solved_at or now
    source.save(
        update_fields=["merged_into", "status", "status_category", "closed_at", "solved_at", "updated_at"]
    )
    target.save(update_fields=["updated_at"])
    _history(source, actor, "merged_into", "status", old_status, {"ticket": target.number})
    _history(target, actor, "merged_from", "", None, {"ticket": source.number, "messages": len(moved_ids)})
    Message.objects.create(
        ticket=target,
        kind=Message.Kind.EVENT,
        author_type=Message.AuthorType.SYSTEM,
        body_text=f"Ticket #{source.number} was merged into this ticket.",
        body_html=text_to_html(f"Ticket #{source.number} was merged into this ticket."),
    )
    record_audit(
        actor, "ticket.merged", "ticket", str(target.number), source=source.number, messages=len(moved_ids)
    )
    events.emit("ticket.merged", source_id=source.pk, target_id=target.pk)
    return target


@transaction.atomic
def open_follow_up(previous: Ticket, *, actor: User | None, body: str, subject: str | None = None) -> Ticket:
    """A new ticket linked to a closed one, for when the customer writes again."""
    previous = Ticket.objects.select_related("requester", "team").get(pk=previous.pk)
    if previous.status_category != StatusCategory.CLOSED:
        raise Conflict(
            "Only closed tickets get follow-ups; reply on the ticket instead.", code="ticket_not_closed"
        )
    ticket = open_ticket(
        subject=subject or previous.subject,
        body=body,
        requester=previous.requester,
        actor=actor,
        channel=previous.channel,
        priority=previous.priority,
        priority_reason="follow-up keeps the priority of the ticket it follows",
        ticket_type=previous.ticket_type,
        team=previous.team,
        tags=list(previous.tags.values_list("name", flat=True)),
        follow_up_of=previous,
    )
    return ticket


def move_tickets_of_merged_customer(
    sender: Any, *, source: Customer, target: Customer, actor: User | None, **_: Any
) -> None:
    """Receiver of ``customers_merged``: runs inside the merge's transaction."""
    ticket_ids = list(Ticket.objects.filter(requester=source).values_list("pk", flat=True))
    # updated_at too: clients that sync with ``updated_since`` must see the new requester.
    Ticket.objects.filter(pk__in=ticket_ids).update(
        requester=target, organisation_id=target.organisation_id, updated_at=timezone.now()
    )
    Message.objects.filter(author_customer=source).update(author_customer=target)
    SearchDocument.objects.filter(customer_id=source.pk).exclude(kind="customer").update(
        customer_id=target.pk
    )
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(
                ticket_id=pk, actor=actor, action="requester_changed", field="requester",
                old=source.public_id, new=target.public_id,
            )
            for pk in ticket_ids
        ]
    )  # fmt: skip


@transaction.atomic
def apply_priority(ticket: Ticket, *, priority: str, reason: str, actor: User | None = None) -> Ticket:
    """Set priority with its reason on behalf of a rule (the priority policy), not a person.

    Callers are system code that already decided the change is allowed; agents go through
    ``update_ticket``, which checks their permission.
    """
    if priority not in Priority.values:
        raise ValidationFailed("Unknown priority.", fields={"priority": "invalid"})
    if not reason.strip():
        raise ValidationFailed("A priority needs its reason.", fields={"priority_reason": "required"})
    ticket = Ticket.objects.select_for_update(of=("self",)).get(pk=ticket.pk)
    if ticket.priority == priority and ticket.priority_reason == reason:
        return ticket
    old = {"priority": ticket.priority, "reason": ticket.priority_reason}
    ticket.priority, ticket.priority_reason = priority, reason[:500]
    ticket.save(update_fields=["priority", "priority_reason", "updated_at"])
    _history(
        ticket,
        actor,
        "priority_changed",
        "priority",
        old,
        {"priority": priority, "reason": ticket.priority_reason},
    )
    record_audit(
        actor, "ticket.priority_applied", "ticket", str(ticket.number), priority=priority, reason=reason
    )
    events.emit("ticket.updated", ticket_id=ticket.pk, fields=["priority", "priority_reason"])
    return ticket


@transaction.atomic
def link_to_problem(problem: Ticket, incidents: Iterable[Ticket], *, actor: User | None) -> list[Ticket]:
    """Link customers' tickets (incidents) to the problem ticket that tracks their common cause,
    so they can be followed and answered together. Returns the tickets newly linked.

    ``actor`` None means a rule does it on behalf of a person who was already checked. A person
    must be a full agent and links only tickets they may see; merged and closed tickets, the
    problem itself, other problems and tickets already linked to this problem are skipped.
    """
    if actor is not None:
        if not actor.is_agent or actor.role == Role.LIGHT_AGENT:
            raise Forbidden("Only agents can link tickets to a problem.")
        if not visible_tickets(actor).filter(pk=problem.pk).exists():
            raise Forbidden("You cannot change this ticket.")
    problem = Ticket.objects.select_for_update(of=("self",)).get(pk=problem.pk)
    if problem.ticket_type != TicketType.PROBLEM:
        raise ValidationFailed("Tickets can be linked only to a problem ticket.", code="not_a_problem")
    ids = {t.pk for t in incidents} - {problem.pk}
    candidates = Ticket.objects.filter(pk__in=ids, merged_into__isnull=True).exclude(
        status_category=StatusCategory.CLOSED
    )
    if actor is not None:
        candidates = candidates.filter(pk__in=visible_tickets(actor).values("pk"))
    linked = list(
        candidates.exclude(problem_id=problem.pk)
        .exclude(ticket_type=TicketType.PROBLEM)
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    for ticket in linked:
        old = ticket.problem.number if ticket.problem_id and ticket.problem else None
        ticket.problem = problem
        ticket.save(update_fields=["problem", "updated_at"])
        _history(ticket, actor, "problem_linked", "problem", old, {"ticket": problem.number})
    if linked:
        numbers = [t.number for t in linked]
        _history(problem, actor, "incidents_linked", "", None, {"tickets": numbers})
        record_audit(actor, "ticket.incidents_linked", "ticket", str(problem.number), tickets=numbers)
        for ticket in linked:
            events.emit("ticket.updated", ticket_id=ticket.pk, fields=["problem"])
    return linked


MAX_RATING_COMMENT = 5_000


@transaction.atomic
def rate_ticket(ticket: Ticket, *, actor: User, score: int, comment: str = "") -> SatisfactionRating:
    """The requester rates the service on their solved (or closed) ticket, 1 to 5 with a comment.

    One rating per ticket; rating again replaces the score and comment, and history keeps both.
    Only the requester rates (not a colleague who can see the ticket through the organisation).
    """
    customer = customer_of(actor)
    if customer is None or not visible_tickets(actor).filter(pk=ticket.pk).exists():
        raise Forbidden("Only the requester can rate this ticket.", code="not_requester")
    ticket = Ticket.objects.select_for_update(of=("self",)).get(pk=ticket.pk)
    if ticket.requester_id != customer.pk:
        raise Forbidden("Only the requester can rate this ticket.", code="not_requester")
    if ticket.status_category not in (StatusCategory.SOLVED, StatusCategory.CLOSED):
        raise Conflict("A ticket can be rated once it is solved.", code="ticket_not_solved")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationFailed("A rating is a whole number from 1 to 5.", fields={"score": "1 to 5"})
    comment = comment.strip()
    if len(comment) > MAX_RATING_COMMENT:
        raise ValidationFailed(
            f"A comment is at most {MAX_RATING_COMMENT} characters.", fields={"comment": "too long"}
        )
    rating = SatisfactionRating.objects.filter(ticket=ticket).first()
    old = {"score": rating.score, "comment": rating.comment} if rating is not None else None
    if rating is None:
        rating = SatisfactionRating.objects.create(
            ticket=ticket, customer=customer, score=score, comment=comment
        )
    elif old != {"score": score, "comment": comment}:
        rating.score, rating.comment = score, comment
        rating.save(update_fields=["score", "comment", "updated_at"])
    else:
        return rating
    _history(ticket, actor, "rated", "satisfaction", old, {"score": score, "comment": comment})
    record_audit(actor, "ticket.rated", "ticket", str(ticket.number), score=score)
    events.emit("ticket.rated", ticket_id=ticket.pk, score=score)
    return rating


@transaction.atomic
def escalate_ticket(
    ticket: Ticket, *, actor: User, team: Team, reason: str, assignee: User | None = None
) -> Ticket:
    """Hand a ticket to another team (and optionally a person) because an agent judged it
    necessary. The reason is required and stays in the conversation as a system event, so the
    next person knows why the ticket reached them. Without a named person the ticket goes to the
    team's queue unassigned: keeping the old assignee would leave it with the escalating agent."""
    if not actor.is_agent or actor.role == Role.LIGHT_AGENT:
        raise Forbidden("Only agents can escalate tickets; add an internal note instead.")
    if not visible_tickets(actor).filter(pk=ticket.pk).exists():
        raise Forbidden("You cannot change this ticket.")
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationFailed("Say why the ticket is escalated.", fields={"reason": "required"})
    if len(reason) > 500:
        raise ValidationFailed("A reason is at most 500 characters.", fields={"reason": "too long"})
    _check_assignee(assignee)
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("team", "assignee", "requester")
        .get(pk=ticket.pk)
    )
    if ticket.merged_into_id is not None or ticket.status_category == StatusCategory.CLOSED:
        raise Conflict("Closed and merged tickets cannot be escalated.", code="ticket_closed")
    if team.pk == ticket.team_id and (assignee is None or assignee.pk == ticket.assignee_id):
        raise ValidationFailed(
            "The ticket is already with this team; choose another team or a person.",
            fields={"team": "unchanged"},
        )
    old = {"team": _plain(ticket.team), "assignee": _plain(ticket.assignee)}
    ticket.team, ticket.assignee = team, assignee
    ticket.save(update_fields=["team", "assignee", "updated_at"])
    new = {"team": team.public_id, "assignee": _plain(assignee), "reason": reason}
    _history(ticket, actor, "escalated", "team", old, new)
    to = team.name + (f" ({assignee.name or assignee.email})" if assignee is not None else "")
    post_system_event(ticket, text=f"Escalated to {to} by {actor.name or actor.email}: {reason}", actor=actor)
    record_audit(actor, "ticket.escalated", "ticket", str(ticket.number), **new)
    events.emit("ticket.updated", ticket_id=ticket.pk, fields=["assignee", "team"])
    return ticket
