"""Messages that are not for us: sister brands and partners, and what an agent does with one.

The model puts a message that fits no category in the misdirected queue with a guess of the
sister brand it was meant for (``services.triage_ticket``). A person decides: ``mark_not_for_us``
answers the customer politely (the brand's template, or the install's generic one), forwards the
message to the brand's address when it has one, solves the ticket, and keeps the ticket as an
out-of-scope example for the next training. Everything it writes, the outbox row of the forward
included, is in one transaction with its audit row; the forward is mailed after the commit and
retried on a schedule (at most ``MisdirectedForward.MAX_TRIES`` times) until it goes out.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from regulars.accounts.models import Role, User
from regulars.accounts.services import record_audit
from regulars.core import events
from regulars.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from regulars.customers.models import Identity
from regulars.insights.models import MisdirectedForward, SisterBrand, TicketTriage
from regulars.insights.outbox import deliver
from regulars.tickets.models import Message, StatusCategory, Ticket
from regulars.tickets.selectors import visible_tickets
from regulars.tickets.services import default_status, post_message, update_ticket

logger = logging.getLogger(__name__)

NOT_FOR_US_TAG = "not-for-us"
_BRAND_FIELDS = ("name", "description", "contact", "forward_address", "reply_template", "active")
PLACEHOLDERS = ("{brand}", "{contact}", "{customer}")


def _require_admin(actor: User) -> None:
    if not (actor.is_active and actor.role == Role.ADMIN):
        raise Forbidden("Only admins may do this.", code="admins_only")


def _check_brand(values: dict[str, Any], *, other_than: int | None = None) -> dict[str, Any]:
    checked = dict(values)
    for name in ("name", "description", "contact", "reply_template"):
        if name in checked:
            text = str(checked[name]).strip()
            if "\x00" in text:
                raise ValidationFailed("Text may not contain NUL characters.", fields={name: "invalid"})
            checked[name] = text
    if "name" in checked:
        if not checked["name"] or len(checked["name"]) > 100:
            raise ValidationFailed("A sister brand needs a name of at most 100 characters.",
                                   fields={"name": "invalid"})  # fmt: skip
        clash = SisterBrand.objects.filter(name__iexact=checked["name"])
        if other_than is not None:
            clash = clash.exclude(pk=other_than)
        if clash.exists():
            raise ValidationFailed("There is already a sister brand of that name.", fields={"name": "taken"})
    if "description" in checked and not checked["description"]:
        raise ValidationFailed(
            "Describe what they do, in their customers' words.", fields={"description": "required"}
        )
    if "contact" in checked and len(checked["contact"]) > 200:
        raise ValidationFailed("At most 200 characters.", fields={"contact": "too long"})
    if checked.get("forward_address"):
        try:
            validate_email(checked["forward_address"])
        except Exception:
            raise ValidationFailed("Not an email address.", fields={"forward_address": "invalid"}) from None
    if "reply_template" in checked and len(checked["reply_template"]) > 5000:
        raise ValidationFailed("At most 5,000 characters.", fields={"reply_template": "too long"})
    return checked


@transaction.atomic
def create_sister_brand(
    *,
    actor: User,
    name: str,
    description: str,
    contact: str = "",
    forward_address: str = "",
    reply_template: str | None = None,
) -> SisterBrand:
    _require_admin(actor)
    values: dict[str, Any] = {"name": name, "description": description, "contact": contact,
                              "forward_address": forward_address}  # fmt: skip
    if reply_template is not None:
        values["reply_template"] = reply_template
    brand = SisterBrand.objects.create(**_check_brand(values))
    record_audit(actor, "insights.brand_created", "sister_brand", brand.public_id, name=brand.name)
    return brand


@transaction.atomic
def update_sister_brand(*, actor: User, brand: SisterBrand, **changes: Any) -> SisterBrand:
    _require_admin(actor)
    unknown = set(changes) - set(_BRAND_FIELDS)
    if unknown:
        raise ValidationFailed("Unknown field.", fields={name: "unknown" for name in sorted(unknown)})
    brand = SisterBrand.objects.select_for_update().get(pk=brand.pk)
    changes = _check_brand(changes, other_than=brand.pk)
    old = {name: getattr(brand, name) for name in changes}
    for name, value in changes.items():
        setattr(brand, name, value)
    brand.save()
    record_audit(actor, "insights.brand_changed", "sister_brand", brand.public_id, old=old, new=changes)
    return brand


def render_reply(template: str, *, brand: SisterBrand | None, customer_name: str) -> str:
    """The template with its placeholders filled. Only the three named placeholders are
    replaced; any other brace is left as written (no format-string evaluation of admin text)."""
    values = {
        "{brand}": brand.name if brand else "",
        "{contact}": (brand.contact or brand.forward_address) if brand else "",
        "{customer}": customer_name,
    }
    text = template
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text.strip()


def _forward_body(ticket: Ticket, first: Message | None, brand: SisterBrand) -> str:
    address = (
        Identity.objects.filter(customer_id=ticket.requester_id, kind=Identity.Kind.EMAIL)
        .order_by("-is_primary", "id")
        .values_list("value", flat=True)
        .first()
    )
    sender = " ".join(part for part in (ticket.requester.name, f"<{address}>" if address else "") if part)
    sender = sender or "a customer"
    text = first.body_text if first is not None else ""
    return (
        f"Hello {brand.name},\n\n"
        f"This message reached us but seems meant for you. We have told the customer and "
        f"pointed them to you; please reply to them directly.\n\n"
        f"From: {sender}\nSubject: {ticket.subject}\n\n{text}\n"
    )


@transaction.atomic
def mark_not_for_us(
    ticket: Ticket,
    *,
    actor: User,
    brand: SisterBrand | None = None,
    reply: bool = True,
    now: dt.datetime | None = None,
) -> TicketTriage:
    """An agent confirms a ticket is not for us.

    With ``reply``, the customer gets the brand's polite template (or the install's generic reply
    when no brand fits) as a public reply on the ticket's channel. With a brand that has a forward
    address, the message is forwarded there. The ticket is tagged, solved, and kept as an
    out-of-scope training example. Marking a ticket twice changes nothing the second time.
    """
    from regulars.insights.services import get_settings

    if not (actor.is_active and actor.role in (Role.ADMIN, Role.AGENT)):
        raise Forbidden("Only agents may do this.", code="agents_only")
    if not visible_tickets(actor).filter(pk=ticket.pk).exists():
        raise NotFound("No such ticket.")
    if brand is not None:
        brand = SisterBrand.objects.filter(pk=brand.pk).first()
        if brand is None:
            raise ValidationFailed("No such sister brand.", fields={"brand_id": "not found"})
    if brand is not None and not brand.active:
        raise ValidationFailed("That sister brand is switched off.", fields={"brand_id": "inactive"})
    ticket = Ticket.objects.select_related("requester").get(pk=ticket.pk)
    if ticket.status_category == StatusCategory.CLOSED:
        raise Conflict("Closed tickets cannot change; open a follow-up instead.", code="ticket_closed")
    moment = now or timezone.now()
    triage = TicketTriage.objects.select_for_update().filter(ticket=ticket).first()
    if (
        triage is not None
        and triage.misdirected
        and triage.corrected_at is not None
        and triage.category is None
    ):
        return triage  # already decided by a person
    triage = triage or TicketTriage(ticket=ticket, triaged_at=moment)
    old = triage.category.name if triage.category_id and triage.category else None
    triage.category = None
    triage.misdirected = True
    triage.routed = False
    triage.corrected_by = actor
    triage.corrected_at = moment
    triage.redirected_to = brand
    triage.save()

    if reply:
        template = brand.reply_template if brand is not None else get_settings().misdirected_reply
        body = render_reply(template, brand=brand, customer_name=ticket.requester.name or "")
        if body:
            post_message(ticket, author=actor, body=body, public=True)
    forwarded_to = ""
    if brand is not None and brand.forward_address:
        first = (
            Message.objects.filter(
                ticket=ticket, author_type=Message.AuthorType.CUSTOMER, kind=Message.Kind.REPLY
            )
            .order_by("id")
            .first()
        )
        row, created = MisdirectedForward.objects.get_or_create(
            ticket=ticket,
            defaults={
                "brand": brand,
                "to_address": brand.forward_address,
                "subject": f"Fwd: {ticket.subject}"[:250],
                "body": _forward_body(ticket, first, brand),
                "created_at": moment,
            },
        )
        forwarded_to = row.to_address
        if created:
            # The event's task row commits with the outbox row; the worker mails it.
            events.emit("insights.forward_queued", forward_id=row.pk)
    ticket.refresh_from_db()
    tags = list(ticket.tags.values_list("name", flat=True))
    update_ticket(
        ticket,
        actor=actor,
        tags=sorted({*tags, NOT_FOR_US_TAG}),
        status=default_status(StatusCategory.SOLVED),
    )
    record_audit(
        actor, "insights.not_for_us", "ticket", str(ticket.number),
        old=old, brand=brand.name if brand else None, replied=reply, forwarded_to=forwarded_to,
    )  # fmt: skip
    return triage


# --- the forward outbox --------------------------------------------------------------------


def deliver_forwards(forward_id: int | None = None, *, now: dt.datetime | None = None) -> int:
    """Mail unsent forwards (one, or every one due for a retry). Safe to run twice
    (``outbox.deliver``)."""
    rows = MisdirectedForward.objects.all()
    rows = rows.filter(pk=forward_id) if forward_id is not None else rows
    return deliver(rows, _send_forward, now=now)


def _send_forward(row: MisdirectedForward) -> None:
    send_mail(row.subject, row.body, None, [row.to_address], fail_silently=False)


def on_forward_queued(name: str, payload: dict[str, Any]) -> None:
    deliver_forwards(payload["forward_id"])
