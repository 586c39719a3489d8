"""The outbox: agent replies and acknowledgements, queued once, sent through the relay in
``settings.EMAIL_URL`` with retries for temporary failures and none for permanent ones."""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from string import Template

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from regulars.channels.base import OutboundMessage, SendResult, channel_adapter
from regulars.channels.email import tokens
from regulars.channels.email.models import BouncedAddress, InboundEmail, OutboundEmail
from regulars.channels.models import Inbox
from regulars.channels.services import default_email_inbox, record_error, record_success
from regulars.core import fastsql
from regulars.core.ids import new_ulid
from regulars.customers.models import Customer, Identity
from regulars.tickets.attachments import Upload, blob_path
from regulars.tickets.models import Message, Ticket

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
STALE_SENDING = timedelta(minutes=10)
ACK_WINDOW = timedelta(hours=1)
MAX_REFERENCES = 20
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
DEFAULT_ACK = (
    "Hello,\n\nWe received your message and opened ticket #$number: $subject.\n"
    "Reply to this email to add to it.\n\n$brand"
)
State = OutboundEmail.State


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes, at most an hour between tries."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600))


def _clean(value: str, limit: int = 250) -> str:
    return " ".join(value.split())[:limit]  # headers are one line: no CR/LF ever reaches a header


def _new_message_id(inbox: Inbox, ticket: Ticket) -> str:
    domain = inbox.primary_address.rsplit("@", 1)[-1] or "regulars.invalid"
    return f"{new_ulid()}.t{ticket.number}@{domain}"


def _subject(ticket: Ticket) -> str:
    subject = _clean(ticket.subject, 220)
    prefix = "" if subject.lower().startswith("re:") else "Re: "
    return f"{prefix}{subject} {tokens.subject_tag(ticket.number)}"


def thread_ids(ticket: Ticket) -> list[str]:
    """The conversation's Message-IDs, oldest first: what a reply's References lists."""
    inbound = (
        InboundEmail.objects.filter(ticket=ticket).exclude(message_id="").values_list("id", "message_id")
    )
    sent = OutboundEmail.objects.filter(ticket=ticket).values_list("created_at", "message_id")
    ordered = [m for _, m in sorted(inbound)] + [m for _, m in sorted(sent)]
    return list(dict.fromkeys(ordered))[-MAX_REFERENCES:]


def inbox_for_ticket(ticket: Ticket) -> Inbox | None:
    last = InboundEmail.objects.filter(ticket=ticket).select_related("inbox").order_by("-id").first()
    return last.inbox if last is not None else default_email_inbox()


def requester_address(ticket: Ticket) -> str:
    identity = (
        Identity.objects.filter(customer_id=ticket.requester_id, kind=Identity.Kind.EMAIL)
        .order_by("-is_primary", "id")
        .first()
    )
    return identity.value if identity else ""


def is_email_ticket(ticket: Ticket) -> bool:
    return ticket.channel == "email" or InboundEmail.objects.filter(ticket=ticket).exists()


# --- queueing ------------------------------------------------------------------------------


def queue_reply(message_id: int) -> OutboundEmail | None:
    """The outbox row for an agent's public reply; safe to call twice (one row per message)."""
    message = Message.objects.select_related("ticket").filter(pk=message_id).first()
    if (
        message is None
        or message.kind != Message.Kind.REPLY
        or message.author_type != Message.AuthorType.AGENT
    ):
        return None
    existing = OutboundEmail.objects.filter(ticket_message=message).first()
    if existing is not None or not is_email_ticket(message.ticket):
        return existing
    ticket = message.ticket
    inbox = inbox_for_ticket(ticket)
    if inbox is None:
        logger.warning("no email inbox to send the reply on ticket %s", ticket.number)
        return None
    refs = thread_ids(ticket)
    inbound_ids = list(
        InboundEmail.objects.filter(ticket=ticket)
        .exclude(message_id="")
        .order_by("-id")
        .values_list("message_id", flat=True)[:1]
    )
    row = OutboundEmail(
        inbox=inbox, ticket=ticket, ticket_message=message, kind=OutboundEmail.Kind.REPLY,
        to_address=requester_address(ticket), from_address=inbox.primary_address,
        reply_to=tokens.reply_address(inbox.primary_address, ticket.number), subject=_subject(ticket),
        body_text=message.body_text, body_html=message.body_html,
        message_id=_new_message_id(inbox, ticket), in_reply_to=(inbound_ids or refs[-1:] or [""])[0],
        references=refs, next_attempt_at=timezone.now(),
    )  # fmt: skip
    problem = _undeliverable(row, ticket)
    if problem:
        row.state, row.last_error = State.FAILED, problem
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # a concurrent call queued it first
        return OutboundEmail.objects.filter(ticket_message=message).first()
    return row


def _undeliverable(row: OutboundEmail, ticket: Ticket) -> str:
    if not row.to_address:
        return "The requester has no email address."
    if Customer.objects.filter(pk=ticket.requester_id, is_blocked=True).exists():
        return "The requester is blocked; blocked customers are never answered."
    if BouncedAddress.objects.filter(address=row.to_address).exists():
        return f"{row.to_address} bounced permanently; fix the address or wait for the customer to write."
    return ""


def may_acknowledge(inbox: Inbox, customer: Customer, parsed: object) -> bool:
    """Acknowledge people, once per ticket, a few times an hour at most: never machines (RFC 3834
    signals), blocked customers or addresses that bounce."""
    return acknowledgement_allowed(send_may_acknowledge(inbox, customer, parsed))


def send_may_acknowledge(inbox: Inbox, customer: Customer, parsed: object) -> fastsql.Pending | None:
    """``may_acknowledge`` in two steps, so its look-up can travel with other reads: ``None``
    when no acknowledgement is wanted at all, else the look-up, sent, for
    ``acknowledgement_allowed``."""
    if not inbox.settings.get("acknowledge", True) or customer.is_blocked:
        return None
    if getattr(parsed, "auto_signals", None):
        return None
    sender = str(getattr(parsed, "sender", ""))
    since = connection.ops.adapt_datetimefield_value(timezone.now() - ACK_WINDOW)
    return fastsql.send(_BOUNCED_AND_RECENT_ACKS, [sender, sender, OutboundEmail.Kind.ACK.value, since])


def acknowledgement_allowed(sent: fastsql.Pending | None) -> bool:
    if sent is None:
        return False
    bounced, recent = sent.rows()[0]
    if bounced:
        return False
    return int(recent) < settings.EMAIL_ACKS_PER_SENDER_PER_HOUR


# Both answers may_acknowledge needs, in one statement written out once (it runs for every new
# ticket by email): whether the address bounces, and how many acknowledgements it got lately.
_BOUNCED_AND_RECENT_ACKS = (
    'SELECT EXISTS(SELECT 1 FROM "channels_bouncedaddress" WHERE "address" = %s),'
    ' (SELECT COUNT(*) FROM "channels_outboundemail"'
    ' WHERE "to_address" = %s AND "kind" = %s AND "created_at" >= %s)'
)
_ACK_QUEUED = 'SELECT 1 FROM "channels_outboundemail" WHERE "ticket_id" = %s AND "kind" = %s LIMIT 1'


def queue_ack(
    inbox: Inbox,
    ticket: Ticket,
    *,
    to: str,
    in_reply_to: str,
    references: list[str],
    new_ticket: bool = False,
    pk: int | None = None,
) -> OutboundEmail:
    """The acknowledgement of ``ticket``, queued once. ``new_ticket``: the caller created the
    ticket in the current transaction, so nobody can have acknowledged it yet (no look-up).
    ``pk``: a key reserved for the row (``fastsql.reserve_ids``), so nothing is read back."""
    if not new_ticket and fastsql.execute(_ACK_QUEUED, [ticket.pk, OutboundEmail.Kind.ACK.value]):
        return OutboundEmail.objects.filter(ticket=ticket, kind=OutboundEmail.Kind.ACK).get()
    template = Template(str(inbox.settings.get("ack_template", DEFAULT_ACK)))
    text = template.safe_substitute(
        number=ticket.number, subject=ticket.subject, brand=inbox.brand or inbox.name
    )
    row = OutboundEmail(
        pk=pk, inbox=inbox, ticket=ticket, kind=OutboundEmail.Kind.ACK, to_address=to,
        from_address=inbox.primary_address, reply_to=tokens.reply_address(inbox.primary_address, ticket.number),
        subject=_subject(ticket), body_text=text, message_id=_new_message_id(inbox, ticket),
        in_reply_to=in_reply_to, references=[r for r in references if r][-MAX_REFERENCES:],
        next_attempt_at=timezone.now(),
    )  # fmt: skip
    fastsql.insert(row)
    _enqueue_with_transaction(row.pk)
    return row


def _enqueue_with_transaction(outbound_id: int) -> None:
    """Enqueue delivery of a row being written in the current transaction.

    With the database task backend the task row is written in the same transaction as the
    outbox row (as ``core.events`` does for background handlers): the worker sees both or
    neither, and ingest does not pay a commit of its own for it after the real one. Any other
    backend might run the task at once, before the outbox row is committed, so it is only
    called after commit."""
    from django_tasks_db import DatabaseBackend

    from regulars.channels.email.tasks import deliver_outbound

    if isinstance(deliver_outbound.get_backend(), DatabaseBackend) and connection.in_atomic_block:
        deliver_outbound.enqueue(outbound_id=outbound_id)
    else:
        transaction.on_commit(lambda: _enqueue(outbound_id))


def _enqueue(outbound_id: int) -> None:
    from regulars.channels.email.tasks import deliver_outbound

    try:
        deliver_outbound.enqueue(outbound_id=outbound_id)
    except Exception:  # the sweep delivers it anyway
        logger.exception("could not enqueue delivery of outbound email %s", outbound_id)


# --- sending -------------------------------------------------------------------------------


def build_mime(row: OutboundEmail) -> EmailMessage:
    msg = EmailMessage()
    name = str(row.inbox.settings.get("from_name") or row.inbox.brand or row.inbox.name)
    msg["From"] = formataddr((_clean(name, 100), row.from_address))
    msg["To"] = row.to_address
    msg["Reply-To"] = row.reply_to
    msg["Subject"] = _clean(row.subject, 300)
    msg["Date"] = format_datetime(row.created_at or timezone.now())
    msg["Message-ID"] = f"<{row.message_id}>"
    if row.in_reply_to:
        msg["In-Reply-To"] = f"<{row.in_reply_to}>"
    if row.references:
        msg["References"] = " ".join(f"<{r}>" for r in row.references)
    msg["X-Loop"] = settings.EMAIL_LOOP_ID
    if row.kind == OutboundEmail.Kind.ACK:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(row.body_text or " ")
    if row.body_html:
        msg.add_alternative(row.body_html, subtype="html")
    if row.ticket_message is not None:
        for att in row.ticket_message.attachments.select_related("blob"):
            if att.blob.size <= MAX_ATTACHMENT_BYTES:
                maintype, _, subtype = att.content_type.partition("/")
                msg.add_attachment(
                    blob_path(att.blob.sha256).read_bytes(), maintype=maintype or "application",
                    subtype=subtype or "octet-stream", filename=att.filename,
                )  # fmt: skip
    return msg


def to_outbound_message(row: OutboundEmail) -> OutboundMessage:
    return OutboundMessage(
        channel="email", to=row.to_address, subject=row.subject, text=row.body_text, html=row.body_html,
        message_id=row.message_id, in_reply_to=row.in_reply_to, references=list(row.references),
        reply_to=row.reply_to, from_address=row.from_address, auto_submitted=row.kind == OutboundEmail.Kind.ACK,
        attachments=[Upload(a.filename, a.content_type, b"") for a in (row.ticket_message.attachments.all() if row.ticket_message else [])],
    )  # fmt: skip


class SmtpAdapter:
    """Sends one built message through the configured relay."""

    kind = "email"

    def send(self, message: OutboundMessage) -> SendResult:
        row = OutboundEmail.objects.select_related("inbox", "ticket_message").get(
            message_id=message.message_id
        )
        return send_mime(build_mime(row), envelope_from=row.from_address, to=row.to_address)


def _expect(reply: tuple[int, bytes], ok: tuple[int, ...]) -> str:
    code, text = reply
    if code not in ok:
        raise smtplib.SMTPResponseException(code, text)
    return f"{code} {text.decode('utf-8', 'replace')}"


def send_mime(msg: EmailMessage, *, envelope_from: str, to: str) -> SendResult:
    relay = settings.EMAIL_RELAY
    smtp: smtplib.SMTP | None = None
    try:
        if relay["SECURITY"] == "ssl":
            smtp = smtplib.SMTP_SSL(relay["HOST"], relay["PORT"], timeout=relay["TIMEOUT"],
                                    context=ssl.create_default_context())  # fmt: skip
        else:
            smtp = smtplib.SMTP(relay["HOST"], relay["PORT"], timeout=relay["TIMEOUT"])
        smtp.ehlo_or_helo_if_needed()
        if relay["SECURITY"] == "starttls":
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if relay["USER"]:
            smtp.login(relay["USER"], relay["PASSWORD"])
        _expect(smtp.mail(envelope_from), (250,))
        _expect(smtp.rcpt(to), (250, 251))
        response = _expect(smtp.data(msg.as_bytes()), (250,))
        return SendResult(ok=True, response=response[:1000])
    except smtplib.SMTPResponseException as exc:
        text = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return SendResult(
            ok=False, permanent=500 <= exc.smtp_code < 600, response=f"{exc.smtp_code} {text}"[:1000]
        )
    except (OSError, smtplib.SMTPException) as exc:
        return SendResult(ok=False, permanent=False, response=f"{type(exc).__name__}: {exc}"[:1000])
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def deliver(outbound_id: int, now: datetime | None = None) -> OutboundEmail | None:
    """Send one due row. The conditional UPDATE queued -> sending is the claim: two workers never
    send the same row. The Message-ID was fixed when the row was queued."""
    now = now or timezone.now()
    claimed = OutboundEmail.objects.filter(
        pk=outbound_id, state=State.QUEUED, next_attempt_at__lte=now
    ).update(state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    row = (
        OutboundEmail.objects.select_related("inbox", "ticket", "ticket_message")
        .filter(pk=outbound_id)
        .first()
    )
    if not claimed or row is None:
        return row
    problem = _undeliverable(row, row.ticket) if row.kind == OutboundEmail.Kind.REPLY else ""
    if problem:
        result = SendResult(ok=False, permanent=True, response=problem)
    else:
        try:
            result = channel_adapter("email").send(to_outbound_message(row))
        except Exception as exc:  # a bug must not leave the row claimed forever
            logger.exception("sending outbound email %s failed", row.pk)
            result = SendResult(ok=False, permanent=False, response=f"{type(exc).__name__}: {exc}"[:1000])
    sending = OutboundEmail.objects.filter(pk=row.pk, state=State.SENDING)
    if result.ok:
        sending.update(
            state=State.SENT, sent_at=timezone.now(), relay_response=result.response, last_error=""
        )
        record_success(row.inbox_id)
    elif result.permanent or row.attempts >= MAX_ATTEMPTS:
        sending.update(state=State.FAILED, last_error=result.response)
        record_error(row.inbox_id, f"sending {row.public_id}: {result.response}")
    else:
        sending.update(
            state=State.QUEUED, last_error=result.response, next_attempt_at=now + backoff(row.attempts)
        )
        record_error(row.inbox_id, f"sending {row.public_id}: {result.response}")
    row.refresh_from_db()
    return row


def deliver_due(now: datetime | None = None, limit: int = 200) -> int:
    now = now or timezone.now()
    ids = list(
        OutboundEmail.objects.filter(state=State.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        deliver(pk, now)
    return len(ids)


def requeue_stale(now: datetime | None = None) -> int:
    """A worker killed while sending leaves its row in ``sending``. Retrying it may deliver it a
    second time, but with the very same Message-ID, which mail clients show once."""
    now = now or timezone.now()
    return OutboundEmail.objects.filter(state=State.SENDING, claimed_at__lt=now - STALE_SENDING).update(
        state=State.QUEUED, next_attempt_at=now, last_error="interrupted while sending; retried"
    )


def reconcile_replies(now: datetime | None = None, days: int = 7) -> int:
    """Queue agent replies whose event handler never ran (it is only logged when it fails)."""
    now = now or timezone.now()
    missing = (
        Message.objects.filter(
            kind=Message.Kind.REPLY, author_type=Message.AuthorType.AGENT, created_at__gte=now - timedelta(days=days),
            ticket__channel="email",
        )
        .exclude(pk__in=OutboundEmail.objects.filter(ticket_message__isnull=False).values("ticket_message_id"))
        .values_list("pk", flat=True)
    )  # fmt: skip
    queued = 0
    for pk in list(missing[:500]):
        if queue_reply(pk) is not None:
            queued += 1
    return queued
