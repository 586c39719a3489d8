"""Inbound email in two steps, each its own transaction.

1. ``store_raw``: one ledger row per (inbox, message key) with the raw bytes, committed. This is
   what the SMTP server waits for before answering 250; a redelivery only counts itself.
2. ``process_inbound``: parse, thread, and create the ticket or message, then record the
   outcome on the row. It skips rows already processed, so it is safe to run twice, and whatever
   a crash left pending is picked up by the periodic sweep (``process_pending``).
"""

from __future__ import annotations

import hashlib
import logging
import re
from email import policy
from email.parser import BytesHeaderParser

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from regulars.accounts.models import AGENT_ROLES, User
from regulars.channels.email import outbound, tokens
from regulars.channels.email.models import BouncedAddress, InboundEmail, OutboundEmail
from regulars.channels.email.parsing import ParsedEmail, parse_email
from regulars.channels.email.threading import find_thread
from regulars.channels.models import Inbox
from regulars.channels.services import record_error, record_success
from regulars.customers.services import get_or_create_customer_by_email
from regulars.tickets.models import Channel, Message, StatusCategory, Ticket
from regulars.tickets.services import open_ticket, post_message, post_system_event

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
_MSGID = re.compile(r"<([^<>\s]{1,250})>")
_TOKEN_TAG = re.compile(rf"\s*\[#\d{{1,18}}-[0-9a-f]{{{tokens.SIG_LENGTH}}}\]", re.IGNORECASE)
Status = InboundEmail.Status


def message_key(raw: bytes) -> tuple[str, str]:
    """``(key, message_id)``: the Message-ID when there is one, else a hash of the bytes."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        found = _MSGID.search(str(headers.get("Message-ID", "")))
    except Exception:
        found = None
    if found:
        message_id = found.group(1)
        if len(message_id) <= 240:
            return f"mid:{message_id}", message_id
        return f"mid-sha256:{hashlib.sha256(message_id.encode()).hexdigest()}", message_id[:255]
    return f"sha256:{hashlib.sha256(raw).hexdigest()}", ""


def store_raw(
    inbox: Inbox,
    raw: bytes,
    *,
    envelope_from: str | None = None,
    envelope_to: list[str] | tuple[str, ...] = (),
    source: str = "smtp",
) -> tuple[InboundEmail, bool]:
    """Commit the raw message to the ledger; ``(row, created)``. A redelivery returns the first row."""
    key, message_id = message_key(raw)
    with transaction.atomic():
        existing = InboundEmail.objects.filter(inbox=inbox, message_key=key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    row = InboundEmail.objects.create(
                        inbox=inbox, message_key=key, message_id=message_id, raw=raw, size=len(raw),
                        envelope_from=(envelope_from or "")[:320], envelope_to=list(envelope_to)[:100],
                        source=source,
                    )  # fmt: skip
                record_success(inbox.pk)
                return row, True
            except IntegrityError:  # the same message arriving twice at once
                existing = InboundEmail.objects.get(inbox=inbox, message_key=key)
        InboundEmail.objects.filter(pk=existing.pk).update(deliveries=F("deliveries") + 1)
        record_success(inbox.pk)
    existing.refresh_from_db()
    return existing, False


def ingest(
    inbox: Inbox,
    raw: bytes,
    *,
    envelope_from: str | None = None,
    envelope_to: list[str] | tuple[str, ...] = (),
    source: str = "smtp",
) -> InboundEmail:
    row, _created = store_raw(inbox, raw, envelope_from=envelope_from, envelope_to=envelope_to, source=source)
    return process_inbound(row.pk)


def process_pending(limit: int = 500) -> int:
    """Process rows a crash or a failed inline attempt left pending. Returns how many it tried."""
    ids = list(
        InboundEmail.objects.filter(status=Status.PENDING).order_by("id").values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        process_inbound(pk)
    return len(ids)


def process_inbound(pk: int) -> InboundEmail:
    """Turn one ledger row into its outcome, once. Unexpected failures are retried by the sweep
    and, after ``MAX_ATTEMPTS``, quarantined with the error, so nothing stays invisible."""
    try:
        with transaction.atomic():
            row = InboundEmail.objects.select_for_update().select_related("inbox").get(pk=pk)
            if row.status == Status.PENDING:
                _process(row)
            return row
    except Exception as exc:
        logger.exception("processing inbound email %s failed", pk)
        with transaction.atomic():
            row = InboundEmail.objects.select_for_update().get(pk=pk)
            if row.status != Status.PENDING:
                return row
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            fields = ["attempts", "last_error"]
            if row.attempts >= MAX_ATTEMPTS:
                row.status, row.reason, row.processed_at = (
                    Status.QUARANTINED, f"processing_failed: {row.last_error}", timezone.now()
                )  # fmt: skip
                fields += ["status", "reason", "processed_at"]
            row.save(update_fields=fields)
        record_error(row.inbox_id, f"processing {row.public_id}: {row.last_error}")
        return row


def reprocess(row: InboundEmail) -> InboundEmail:
    """Run a quarantined row through processing again (after an admin fixed what was wrong)."""
    with transaction.atomic():
        locked = InboundEmail.objects.select_for_update().get(pk=row.pk)
        if locked.status == Status.QUARANTINED:
            locked.status, locked.reason, locked.attempts, locked.processed_at = Status.PENDING, "", 0, None
            locked.save(update_fields=["status", "reason", "attempts", "processed_at"])
    return process_inbound(row.pk)


# --- the decision --------------------------------------------------------------------------


def _finish(row: InboundEmail, status: str, reason: str = "", **fields: object) -> None:
    row.status, row.reason, row.processed_at = status, reason[:2000], timezone.now()
    for name, value in fields.items():
        setattr(row, name, value)
    row.save(update_fields=["status", "reason", "processed_at", "sender", "subject", "flags", *fields])


def _process(row: InboundEmail) -> None:
    parsed = parse_email(bytes(row.raw), envelope_from=row.envelope_from or None, inbox_id=row.inbox_id)
    row.sender, row.subject = parsed.sender, parsed.subject[:250]
    row.flags = {
        "problems": parsed.problems[:50],
        "auto": parsed.auto_signals,
        "authentication": _authentication(row.inbox, parsed),
    }
    earlier = (
        InboundEmail.objects.filter(message_key=row.message_key, pk__lt=row.pk)
        .exclude(inbox=row.inbox_id)
        .order_by("pk")
        .first()
    )
    if earlier is not None:  # one mail addressed to two of our inboxes is one message
        _finish(row, Status.DUPLICATE, f"duplicate of {earlier.public_id}", duplicate_of=earlier)
        return
    if parsed.is_bounce:
        _attach_report(row, parsed)
        return
    if parsed.quarantine_reason:
        _finish(row, Status.QUARANTINED, parsed.quarantine_reason)
        return
    if User.objects.filter(email__iexact=parsed.sender, role__in=AGENT_ROLES).exists():
        # Agents answer through Regulars; mail claiming an agent's address is either spoofed or a
        # misdirected copy, and must never appear as the agent's reply.
        _finish(row, Status.QUARANTINED, "sender_is_agent: mail from an agent address is not posted")
        return
    if any(parsed.sender == address for inbox in Inbox.objects.all() for address in inbox.addresses):
        _finish(row, Status.QUARANTINED, "sender_is_inbox: our own address wrote to us (mail loop)")
        return

    customer = get_or_create_customer_by_email(parsed.sender, name=parsed.sender_name)
    BouncedAddress.objects.filter(address=parsed.sender).delete()  # they write again: it works
    match = find_thread(
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        recipients=[*row.envelope_to, *parsed.recipients],
        subject=parsed.subject,
        sender=customer,
        exclude_pk=row.pk,
    )
    row.flags["thread"] = match.how
    subject = _TOKEN_TAG.sub("", parsed.subject).strip() or "(no subject)"
    body = parsed.text or ("(attachments only)" if parsed.attachments else "(empty message)")
    html = parsed.html or None
    tags = ["auto-reply"] if parsed.auto_signals else []
    ticket: Ticket | None = match.ticket
    if ticket is not None and ticket.status_category != StatusCategory.CLOSED:
        message = post_message(
            ticket, author=None, as_customer=customer, body=body, body_html=html, public=True,
            channel=Channel.EMAIL, attachments=parsed.attachments,
        )  # fmt: skip
        _finish(row, Status.MESSAGE, ticket=ticket, ticket_message=message)
        return
    follow_up_of = None
    if ticket is not None and row.inbox.settings.get("closed_reply", "follow_up") == "follow_up":
        follow_up_of = ticket
    created = open_ticket(
        subject=subject, body=body, body_html=html, requester=customer, channel=Channel.EMAIL,
        attachments=parsed.attachments, tags=tags, follow_up_of=follow_up_of,
    )  # fmt: skip
    first = Message.objects.filter(ticket=created).order_by("id").first()
    _finish(row, Status.MESSAGE, ticket=created, ticket_message=first)
    if outbound.may_acknowledge(row.inbox, customer, parsed):
        outbound.queue_ack(row.inbox, created, to=parsed.sender, in_reply_to=parsed.message_id,
                           references=[*parsed.references, parsed.message_id])  # fmt: skip


def _authentication(inbox: Inbox, parsed: ParsedEmail) -> dict[str, str]:
    """SPF/DKIM/DMARC verdicts, only from an Authentication-Results header our own relay wrote
    (its authserv-id is in the inbox settings); anyone else's header is just text."""
    trusted = str(inbox.settings.get("trusted_authserv_id", "")).lower()
    header = parsed.headers.get("Authentication-Results", "")
    if not trusted or not header.lower().startswith(trusted):
        return {}
    verdicts = dict(re.findall(r"\b(spf|dkim|dmarc)=([a-z]+)", header.lower()))
    return {k: verdicts[k] for k in ("spf", "dkim", "dmarc") if k in verdicts}


def _attach_report(row: InboundEmail, parsed: ParsedEmail) -> None:
    """A delivery report joins the ticket whose mail bounced as a system event, never a new
    ticket; a permanent failure marks the address so we stop writing to it."""
    report = parsed.report
    ids = [*(report.original_message_ids if report else []), *parsed.in_reply_to, *parsed.references]
    sent = OutboundEmail.objects.filter(message_id__in=ids).select_related("ticket").order_by("-id").first()
    if sent is None or report is None:
        _finish(row, Status.QUARANTINED, "unmatched_bounce: a delivery report for no mail we sent")
        return
    permanent = report.permanent_failures
    lines = [f"Delivery report for the mail sent to {sent.to_address} ({sent.kind}):"]
    for rcpt in report.recipients or [
        {"address": sent.to_address, "action": "?", "status": "?", "diagnostic": ""}
    ]:
        lines.append(
            f"- {rcpt['address'] or sent.to_address}: {rcpt['action'] or '?'} {rcpt['status'] or ''} "
            f"{rcpt['diagnostic']}".rstrip()
        )
    text = "\n".join(lines)
    note = post_system_event(sent.ticket, text=text, channel=Channel.EMAIL)
    if permanent:
        OutboundEmail.objects.filter(pk=sent.pk).update(
            state=OutboundEmail.State.BOUNCED, last_error=text[:2000]
        )
        for rcpt in permanent:
            BouncedAddress.objects.update_or_create(
                address=(rcpt["address"] or sent.to_address).lower(),
                defaults={"status": rcpt["status"], "diagnostic": rcpt["diagnostic"]},
            )
    row.flags["report"] = {"permanent": bool(permanent), "recipients": report.recipients[:20]}
    _finish(row, Status.REPORT, ticket=sent.ticket, ticket_message=note)
