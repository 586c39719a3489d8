"""Inboxes (one per mailbox, chat widget, phone line ...) and, for email, the inbound ledger,
the outbox and the addresses that bounce."""

from __future__ import annotations

from django.db import models

from regulars.channels.ids import new_inbox_id
from regulars.core.models import TimeStampedModel


class InboxKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEB = "web", "Web form"
    CHAT = "chat", "Chat"
    VOICE = "voice", "Voice"


class Inbox(TimeStampedModel):
    """Where customers reach us on one channel: for email, a mailbox with its addresses.

    Invariants: ``addresses`` are lower-case and each belongs to at most one inbox (checked by
    ``services.ensure_inbox``). ``failing_since`` is set by the first error after a success and
    cleared by the next success, so health is "red" once it is older than five minutes. Admins
    are told once per red spell (``red_notified_at``), and told again when it recovers.
    ``settings`` holds the business settings of the inbox (``closed_reply``: ``follow_up`` or
    ``new_ticket``; ``acknowledge``: bool; ``from_name``).
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_inbox_id, editable=False)
    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=16, choices=InboxKind.choices, default=InboxKind.EMAIL)
    brand = models.CharField(max_length=120, blank=True)
    addresses = models.JSONField(default=list, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    # When admins were told this inbox turned red; cleared (with an all-clear) by the next success.
    red_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "inboxes"

    def __str__(self) -> str:
        return self.name

    @property
    def primary_address(self) -> str:
        return self.addresses[0] if self.addresses else ""


from regulars.channels.email.models import (  # noqa: E402
    BouncedAddress,
    ImapFolderState,
    InboundEmail,
    OutboundEmail,
)

__all__ = ["BouncedAddress", "ImapFolderState", "InboundEmail", "Inbox", "InboxKind", "OutboundEmail"]
