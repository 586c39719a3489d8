"""Which ticket an inbound email belongs to, in a fixed order.

1. In-Reply-To, then References, against Message-IDs we stored (inbound) or sent (outbox).
   Any sender may thread this way: those ids are only known to people on the conversation.
2. A signed ticket token in a recipient address or the subject, only when the sender is on that
   ticket (its requester or a customer who already wrote on it). Subjects get forwarded, so a
   token from anyone else opens a new ticket: nothing of ticket A reaches a stranger.
3. Otherwise a new ticket. Never by subject alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from regulars.channels.email import tokens
from regulars.core import fastsql
from regulars.customers.models import Customer
from regulars.tickets.models import Message, Ticket


@dataclass(frozen=True)
class ThreadMatch:
    ticket: Ticket | None
    how: str  # "in-reply-to", "references", "address-token", "subject-token", "new", "token-not-on-ticket"


# The ticket of the mail we sent with this Message-ID (unique in the outbox) or else of the newest
# inbound mail with it that has one, in one statement (run for every In-Reply-To/Reference, so
# written out once rather than built by the ORM each time).
_SENT_OR_RECEIVED = (
    '"id" = COALESCE((SELECT "ticket_id" FROM "channels_outboundemail" WHERE "message_id" = %s),'
    ' (SELECT "ticket_id" FROM "channels_inboundemail" WHERE "message_id" = %s'
    ' AND "ticket_id" IS NOT NULL{} ORDER BY "id" DESC LIMIT 1))'
)
_BY_MESSAGE_ID = _SENT_OR_RECEIVED.format("")
_BY_MESSAGE_ID_EXCLUDING = _SENT_OR_RECEIVED.format(' AND NOT ("id" = %s)')


def _ticket_for_message_id(message_id: str, exclude_pk: int | None) -> Ticket | None:
    if exclude_pk is None:
        found = fastsql.select(Ticket, _BY_MESSAGE_ID, [message_id, message_id])
    else:
        found = fastsql.select(Ticket, _BY_MESSAGE_ID_EXCLUDING, [message_id, message_id, exclude_pk])
    return found[0] if found else None


def _current(ticket: Ticket) -> Ticket:
    seen = set()
    while ticket.merged_into_id is not None and ticket.pk not in seen:
        seen.add(ticket.pk)
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
    return ticket


def sender_is_on_ticket(ticket: Ticket, customer: Customer | None) -> bool:
    if customer is None:
        return False
    if ticket.requester_id == customer.pk:
        return True
    return Message.objects.filter(ticket=ticket, author_customer=customer).exists()


def find_thread(
    *,
    in_reply_to: list[str],
    references: list[str],
    recipients: list[str],
    subject: str,
    sender: Customer | None,
    exclude_pk: int | None = None,
) -> ThreadMatch:
    for message_id in in_reply_to:
        ticket = _ticket_for_message_id(message_id, exclude_pk)
        if ticket is not None:
            return ThreadMatch(_current(ticket), "in-reply-to")
    for message_id in reversed(references):  # the newest reference is the most specific
        ticket = _ticket_for_message_id(message_id, exclude_pk)
        if ticket is not None:
            return ThreadMatch(_current(ticket), "references")
    for how, number in (
        ("address-token", tokens.number_from_addresses(recipients)),
        ("subject-token", tokens.number_from_subject(subject)),
    ):
        if number is None:
            continue
        found = fastsql.select(Ticket, '"number" = %s', [number], order_by='"id"', limit=1)
        if not found:
            continue
        ticket = _current(found[0])
        if sender_is_on_ticket(ticket, sender):
            return ThreadMatch(ticket, how)
        return ThreadMatch(None, "token-not-on-ticket")
    return ThreadMatch(None, "new")
