"""Inbound email in two steps, each its own transaction.

1. ``store_raw``: one ledger row per (inbox, message key) with the raw bytes, committed. This is
   what the SMTP server waits for before answering 250; a redelivery only counts itself.
2. ``process_inbound``: parse, thread, and create the ticket or message, then record the
   outcome on the row. It skips rows already processed, so it is safe to run twice, and whatever
   a crash left pending is picked up by the periodic sweep (``process_pending``).

Under load, rows are processed ``BATCH`` at a time (``process_batch``: the SMTP server's
processing thread as it drains its backlog, IMAP polling, the sweep): one transaction for the
batch, a savepoint per row. A commit costs more than most of a message's statements (on
PostgreSQL a synchronous commit is ~2 ms of waiting), so a batch pays it once. A row whose
processing fails is rolled back to its savepoint alone and counted for retry and quarantine as
before; the others commit. Rows are processed in ledger order, so a reply stored after its
parent threads into the parent's ticket even inside the same batch.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from email import policy
from email.parser import BytesHeaderParser

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from regulars.accounts.models import AGENT_ROLES
from regulars.channels.email import outbound, tokens
from regulars.channels.email.models import BouncedAddress, InboundEmail, OutboundEmail
from regulars.channels.email.parsing import ParsedEmail, parse_email
from regulars.channels.email.threading import find_thread
from regulars.channels.models import Inbox
from regulars.channels.services import finish_success, record_error, send_success
from regulars.core import fastsql
from regulars.customers.services import get_or_create_customer_by_email
from regulars.tickets.models import Channel, Message, StatusCategory, Ticket
from regulars.tickets.services import open_ticket, post_message, post_system_event

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Rows per processing transaction: large enough that the commit is a small share of the work,
# small enough that the inbox lock (PostgreSQL) and the write lock (SQLite) are held well under
# a second, so storing new mail (the SMTP server's 250) never waits long.
BATCH = 50
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
    row = InboundEmail(
        inbox=inbox, message_key=key, message_id=message_id, raw=raw, size=len(raw),
        envelope_from=(envelope_from or "")[:320], envelope_to=list(envelope_to)[:100], source=source,
    )  # fmt: skip
    with transaction.atomic():
        # One statement whether or not the message is stored already: a redelivery, or the same
        # message arriving twice at once, finds the key taken and writes nothing. On PostgreSQL
        # the inbox's success travels with it (and the transaction's BEGIN): one round trip.
        with fastsql.pipeline():
            success = send_success(inbox.pk)
            created = fastsql.insert_if_absent(row, ["inbox", "message_key"])
        finish_success(inbox.pk, success)
        if created:
            return row, True
        existing = InboundEmail.objects.get(inbox=inbox, message_key=key)
        InboundEmail.objects.filter(pk=existing.pk).update(deliveries=F("deliveries") + 1)
    existing.refresh_from_db()
    return existing, False


def store_many(
    inbox: Inbox, messages: Sequence[tuple[bytes, list[str]]], *, source: str
) -> tuple[list[tuple[InboundEmail, bool]], Exception | None]:
    """``store_raw`` for several messages (raw bytes, envelope recipients) in one transaction,
    for a source that acknowledges after the commit of them all (IMAP marks the batch on the
    server afterwards). In order; the first message that cannot be stored ends the batch there
    (its savepoint, which ``store_raw`` takes inside a transaction, is rolled back) and comes
    back as the error with the rows stored before it, committed. If the commit itself fails it
    raises: nothing of the batch is stored."""
    stored: list[tuple[InboundEmail, bool]] = []
    failure: Exception | None = None
    with transaction.atomic():
        for raw, envelope_to in messages:
            try:
                stored.append(store_raw(inbox, raw, envelope_to=envelope_to, source=source))
            except Exception as exc:  # the database: keep what is stored, retry the rest later
                failure = exc
                break
    return stored, failure


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
    for start in range(0, len(ids), BATCH):
        process_batch(ids[start : start + BATCH])
    return len(ids)


def process_inbound(pk: int) -> InboundEmail:
    """Turn one ledger row into its outcome, once. Unexpected failures are retried by the sweep
    and, after ``MAX_ATTEMPTS``, quarantined with the error, so nothing stays invisible."""
    try:
        with transaction.atomic():
            row, inboxes = _locked(pk)
            if row.status == Status.PENDING:
                _process(row, inboxes)
            return row
    except Exception as exc:
        logger.exception("processing inbound email %s failed", pk)
        return _record_failure(pk, exc)


def process_batch(pks: Sequence[int]) -> list[InboundEmail]:
    """``process_inbound`` for several rows in one transaction, a savepoint per row, in the
    order given (ledger order). A row that fails is rolled back alone and counted for retry;
    if the batch itself cannot commit, each row is processed again on its own."""
    pks = list(dict.fromkeys(pks))
    if len(pks) < 2:
        return [process_inbound(pk) for pk in pks]
    done: dict[int, InboundEmail] = {}
    failed: list[tuple[int, Exception]] = []
    try:
        with transaction.atomic():
            inboxes = _lock_inboxes(pks)
            for pk in pks:
                try:
                    with transaction.atomic():
                        row = _locked_row(pk, inboxes)
                        if row.status == Status.PENDING:
                            _process(row, inboxes)
                        done[pk] = row
                except Exception as exc:
                    logger.exception("processing inbound email %s failed", pk)
                    failed.append((pk, exc))
    except Exception:
        # Nothing of the batch was kept (e.g. the commit failed): give each row its own fate.
        logger.exception("processing a batch of %s inbound emails failed; one at a time", len(pks))
        return [process_inbound(pk) for pk in pks]
    for pk, error in failed:
        done[pk] = _record_failure(pk, error)
    return [done[pk] for pk in pks]


def _record_failure(pk: int, exc: Exception) -> InboundEmail:
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

# The statements below run once or more per message; they are written out (parameterised, the
# same conditions the ORM would build) because compiling ORM queries cost more than running them.
_AGENT_ADDRESS = (
    'SELECT 1 FROM "accounts_user" WHERE UPPER("email") = UPPER(%s) AND "role" IN ({}) LIMIT 1'.format(  # noqa: S608 (placeholders only)
        ", ".join(["%s"] * len(AGENT_ROLES))
    )
)
_AGENT_ROLES = sorted(str(role) for role in AGENT_ROLES)
_EARLIER_COPY = (
    'SELECT "id" FROM "channels_inboundemail" WHERE "message_key" = %s AND "id" < %s'
    ' AND NOT ("inbox_id" = %s) ORDER BY "id" LIMIT 1'
)
_CLEAR_BOUNCE = 'DELETE FROM "channels_bouncedaddress" WHERE "address" = %s'


def _locked(pk: int) -> tuple[InboundEmail, list[Inbox]]:
    """The ledger row and its inbox, locked (as ``select_for_update().select_related("inbox")``
    did), and every inbox, which the loop check compares the sender with: one round trip."""
    with fastsql.pipeline():
        pending_row = fastsql.send_select(InboundEmail, '"id" = %s', [pk], for_update=True)
        if connection.features.has_select_for_update:
            fastsql.send(
                'SELECT "id" FROM "channels_inbox" WHERE "id" = '
                '(SELECT "inbox_id" FROM "channels_inboundemail" WHERE "id" = %s) FOR UPDATE',
                [pk],
            )
        pending_inboxes = fastsql.send_select(Inbox, "1 = 1", [], order_by='"id"')
        found = pending_row.rows()
        inboxes = pending_inboxes.rows()
    if not found:
        raise InboundEmail.DoesNotExist(f"No inbound email {pk}.")
    row = found[0]
    row.inbox = next(inbox for inbox in inboxes if inbox.pk == row.inbox_id)
    return row, inboxes


# The inboxes of a batch's rows, locked in id order before any row (as ``_locked`` locks one),
# so two processors with overlapping batches queue behind each other instead of deadlocking.
_LOCK_INBOXES = (
    'SELECT "id" FROM "channels_inbox" WHERE "id" IN (SELECT "inbox_id" FROM "channels_inboundemail"'
    ' WHERE "id" = ANY(%s)) ORDER BY "id" FOR UPDATE'
)


def _lock_inboxes(pks: list[int]) -> list[Inbox]:
    """Every inbox, read once for the batch after locking those its rows belong to. Rows of the
    batch were committed before this read, so their inboxes are in it (see ``_earlier_copy``)."""
    with fastsql.pipeline():
        if connection.features.has_select_for_update:
            fastsql.run(_LOCK_INBOXES, [pks])
        return fastsql.select(Inbox, "1 = 1", [], order_by='"id"')


def _locked_row(pk: int, inboxes: list[Inbox]) -> InboundEmail:
    found = fastsql.select(InboundEmail, '"id" = %s', [pk], for_update=True)
    if not found:
        raise InboundEmail.DoesNotExist(f"No inbound email {pk}.")
    row = found[0]
    row.inbox = next(inbox for inbox in inboxes if inbox.pk == row.inbox_id)
    return row


def _finish(row: InboundEmail, status: str, reason: str = "", **fields: object) -> None:
    row.status, row.reason, row.processed_at = status, reason[:2000], timezone.now()
    for name, value in fields.items():
        setattr(row, name, value)
    fastsql.update(row, "status", "reason", "processed_at", "sender", "subject", "flags", *fields)


def _earlier_copy(row: InboundEmail, inboxes: list[Inbox]) -> InboundEmail | None:
    """The first row of the same message stored for another of our inboxes, if any."""
    if len(inboxes) < 2:
        # With one inbox there is no other: an inbox cannot be deleted while it has rows
        # (PROTECT), and one whose rows have lower ids was committed before this row was stored,
        # so before the inboxes were read.
        return None
    found = fastsql.execute(_EARLIER_COPY, [row.message_key, row.pk, row.inbox_id])
    return InboundEmail.objects.get(pk=found[0][0]) if found else None


def _process(row: InboundEmail, inboxes: list[Inbox]) -> None:
    parsed = parse_email(bytes(row.raw), envelope_from=row.envelope_from or None, inbox_id=row.inbox_id)
    row.sender, row.subject = parsed.sender, parsed.subject[:250]
    row.flags = {
        "problems": parsed.problems[:50],
        "auto": parsed.auto_signals,
        "authentication": _authentication(row.inbox, parsed),
    }
    earlier = _earlier_copy(row, inboxes)
    if earlier is not None:  # one mail addressed to two of our inboxes is one message
        _finish(row, Status.DUPLICATE, f"duplicate of {earlier.public_id}", duplicate_of=earlier)
        return
    if parsed.is_bounce:
        _attach_report(row, parsed)
        return
    if parsed.quarantine_reason:
        _finish(row, Status.QUARANTINED, parsed.quarantine_reason)
        return
    if fastsql.execute(_AGENT_ADDRESS, [parsed.sender, *_AGENT_ROLES]):
        # Agents answer through Regulars; mail claiming an agent's address is either spoofed or a
        # misdirected copy, and must never appear as the agent's reply.
        _finish(row, Status.QUARANTINED, "sender_is_agent: mail from an agent address is not posted")
        return
    if any(parsed.sender == address for inbox in inboxes for address in inbox.addresses):
        _finish(row, Status.QUARANTINED, "sender_is_inbox: our own address wrote to us (mail loop)")
        return

    # On PostgreSQL the writes of a new customer and the bounce clearing travel with the next
    # read instead of waiting for an answer each (none of them is read back).
    with fastsql.pipeline():
        customer = get_or_create_customer_by_email(parsed.sender, name=parsed.sender_name)
        fastsql.run(_CLEAR_BOUNCE, [parsed.sender])  # they write again: it works
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
    # On PostgreSQL: the three reads below in one round trip, then the writes (outcome,
    # acknowledgement with its reserved key, its delivery task) in one more at the block's end.
    with fastsql.pipeline():
        pending_first = fastsql.send_select(
            Message, '"ticket_id" = %s', [created.pk], order_by='"id"', limit=1
        )
        pending_ack = outbound.send_may_acknowledge(row.inbox, customer, parsed)
        reserved = fastsql.reserve_ids(OutboundEmail) if pending_ack is not None else None
        found = pending_first.rows()
        acknowledge = outbound.acknowledgement_allowed(pending_ack)
        ack_pk = reserved.rows()[0][0] if reserved is not None else None
        _finish(row, Status.MESSAGE, ticket=created, ticket_message=found[0] if found else None)
        if acknowledge:
            outbound.queue_ack(row.inbox, created, to=parsed.sender, in_reply_to=parsed.message_id,
                               references=[*parsed.references, parsed.message_id], new_ticket=True,
                               pk=ack_pk)  # fmt: skip


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
