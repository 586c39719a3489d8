"""Writes for inboxes: create them, and record how each one is doing (channel health)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from regulars.channels.models import Inbox, InboxKind
from regulars.core import fastsql
from regulars.core.errors import Conflict, ValidationFailed

RED_AFTER = timedelta(minutes=5)


def _normalise_addresses(addresses: list[str]) -> list[str]:
    from regulars.channels.email.parsing import valid_address

    cleaned = list(dict.fromkeys(a.strip().lower() for a in addresses if a.strip()))
    bad = [a for a in cleaned if not valid_address(a) or "+" in a.split("@", 1)[0]]
    if bad or not cleaned:
        raise ValidationFailed(
            "An inbox needs plain addresses (no +tags).", fields={"addresses": ", ".join(bad) or "required"}
        )
    return cleaned


@transaction.atomic
def ensure_inbox(
    name: str,
    addresses: list[str],
    brand: str = "",
    *,
    kind: str = InboxKind.EMAIL,
    settings: dict[str, Any] | None = None,
) -> Inbox:
    """The inbox called ``name`` with these addresses, created or updated; safe to call twice
    (the demo calls it on every run)."""
    cleaned = _normalise_addresses(addresses)
    inbox = Inbox.objects.select_for_update().filter(name=name).first()
    for other in Inbox.objects.exclude(name=name).only("name", "addresses"):
        taken = set(cleaned) & set(other.addresses)
        if taken:
            raise Conflict(
                f"{', '.join(sorted(taken))} already belongs to inbox {other.name}.", code="address_taken"
            )
    if inbox is None:
        return Inbox.objects.create(
            name=name, kind=kind, brand=brand, addresses=cleaned, settings=settings or {}
        )
    inbox.addresses, inbox.brand, inbox.kind = cleaned, brand or inbox.brand, kind
    if settings is not None:
        inbox.settings = {**inbox.settings, **settings}
    inbox.save(update_fields=["addresses", "brand", "kind", "settings", "updated_at"])
    return inbox


def inbox_for_address(address: str) -> Inbox | None:
    """The active inbox owning ``address`` (plus-tags ignored: ``support+t1-x@`` is ``support@``)."""
    from regulars.channels.email.tokens import base_address

    wanted = base_address(address)
    for inbox in Inbox.objects.filter(is_active=True, kind=InboxKind.EMAIL).only("pk", "addresses"):
        if wanted in inbox.addresses:
            return inbox
    return None


def default_email_inbox() -> Inbox | None:
    return Inbox.objects.filter(is_active=True, kind=InboxKind.EMAIL).order_by("id").first()


# Every stored message records a success. When no all-clear is due (the inbox was not reported
# red) one statement, compiled once, does all of it; otherwise the two steps below.
_SUCCESS_WHILE_GREEN = (
    'UPDATE "channels_inbox" SET "last_success_at" = %s, "failing_since" = NULL'
    ' WHERE "id" = %s AND "red_notified_at" IS NULL'
)


def send_success(inbox_id: int, now: datetime | None = None) -> fastsql.Pending:
    """``record_success``'s one statement while the inbox is green, sent now (inside
    ``fastsql.pipeline()`` it travels with the next read); ``finish_success`` with its answer does
    the rest, if any."""
    now = now or timezone.now()
    return fastsql.send(
        _SUCCESS_WHILE_GREEN + ' RETURNING "id"', [connection.ops.adapt_datetimefield_value(now), inbox_id]
    )


def finish_success(inbox_id: int, sent: fastsql.Pending, now: datetime | None = None) -> None:
    if not sent.rows():
        record_success(inbox_id, now)


def record_success(inbox_id: int, now: datetime | None = None) -> None:
    now = now or timezone.now()
    if fastsql.changed(_SUCCESS_WHILE_GREEN, [connection.ops.adapt_datetimefield_value(now), inbox_id]):
        return
    Inbox.objects.filter(pk=inbox_id).update(last_success_at=now, failing_since=None)
    # Only the process that clears the flag sends the all-clear, so it goes out once.
    if Inbox.objects.filter(pk=inbox_id, red_notified_at__isnull=False).update(red_notified_at=None):
        inbox = Inbox.objects.get(pk=inbox_id)
        _tell_admins(
            f"[Regulars] Inbox {inbox.name} is working again",
            f"The inbox {inbox.name} ({inbox.primary_address}) succeeded again at {now:%Y-%m-%d %H:%M} UTC.\n",
        )


def record_error(inbox_id: int, error: str, now: datetime | None = None) -> None:
    """Remember the error; ``failing_since`` keeps the first error after the last success."""
    now = now or timezone.now()
    Inbox.objects.filter(pk=inbox_id).update(last_error_at=now, last_error=error[:2000])
    Inbox.objects.filter(pk=inbox_id, failing_since__isnull=True).update(failing_since=now)


def health_state(inbox: Inbox, now: datetime | None = None) -> str:
    """``red`` once errors have gone on for five minutes without a success in between."""
    now = now or timezone.now()
    if inbox.failing_since is not None and now - inbox.failing_since >= RED_AFTER:
        return "red"
    return "green"


def failing_inboxes(now: datetime | None = None) -> list[Inbox]:
    now = now or timezone.now()
    return list(Inbox.objects.filter(Q(failing_since__lte=now - RED_AFTER)).order_by("name"))


def _tell_admins(subject: str, body: str) -> int:
    """Email every active admin, after the current transaction commits; returns how many."""
    from django.core.mail import send_mail

    from regulars.accounts.models import Role, User

    recipients = list(User.objects.filter(role=Role.ADMIN, is_active=True).values_list("email", flat=True))
    if recipients:
        transaction.on_commit(lambda: send_mail(subject, body, None, recipients, fail_silently=True))
    return len(recipients)


def notify_red_inboxes(now: datetime | None = None) -> list[str]:
    """Tell admins about each inbox that has turned red, once per red spell; safe to run twice
    and from several schedulers at once (the conditional update decides who sends)."""
    from regulars.accounts.services import record_audit

    now = now or timezone.now()
    told: list[str] = []
    for inbox in failing_inboxes(now):
        with transaction.atomic():
            claimed = Inbox.objects.filter(
                pk=inbox.pk, red_notified_at__isnull=True, failing_since__isnull=False
            ).update(red_notified_at=now)
            if not claimed:
                continue
            record_audit(None, "inbox.turned_red", "inbox", inbox.public_id, error=inbox.last_error[:500])
            since = inbox.failing_since or now
            _tell_admins(
                f"[Regulars] Inbox {inbox.name} is failing",
                f"The inbox {inbox.name} ({inbox.primary_address}) has been failing since "
                f"{since:%Y-%m-%d %H:%M} UTC. Customers' mail may not be arriving.\n\n"
                f"Last error: {inbox.last_error}\n\nChannel health: /api/v1/channels/health\n",
            )
            told.append(inbox.name)
    return told
