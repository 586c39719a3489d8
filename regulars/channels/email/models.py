"""The email ledger (every accepted message, once), the outbox and bouncing addresses."""

from __future__ import annotations

from django.db import models

from regulars.channels.ids import new_inbound_id, new_outbound_id


class InboundEmail(models.Model):
    """One accepted message for one inbox: the raw bytes and what became of them.

    Invariants: unique per (inbox, ``message_key``), where the key is the Message-ID or, when
    there is none, ``sha256:<hex>`` of the raw bytes, so a redelivery only bumps ``deliveries``
    and never creates a second ticket message. The row (with its bytes) commits before the SMTP
    server answers 250; processing happens in a second transaction and moves ``status`` from
    ``pending`` exactly once. The raw bytes live in the row (not in a Blob file) so the 250 waits
    for one database commit and a backup of the database alone holds every message.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be processed"
        MESSAGE = "message", "Ticket message created"
        DUPLICATE = "duplicate", "Duplicate of an earlier message"
        QUARANTINED = "quarantined", "Quarantined"
        REJECTED = "rejected", "Rejected with a notice"
        REPORT = "report", "Delivery report attached to a ticket"

    public_id = models.CharField(max_length=40, unique=True, default=new_inbound_id, editable=False)
    inbox = models.ForeignKey("channels.Inbox", on_delete=models.PROTECT, related_name="inbound_emails")
    message_key = models.CharField(max_length=255)
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    raw = models.BinaryField()
    size = models.PositiveIntegerField()
    envelope_from = models.CharField(max_length=320, blank=True)
    envelope_to = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=16, default="smtp")
    deliveries = models.PositiveIntegerField(default=1)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    sender = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=250, blank=True)
    reason = models.TextField(blank=True)
    flags = models.JSONField(default=dict, blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket_message = models.ForeignKey(
        "tickets.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["inbox", "message_key"], name="inbound_email_once_per_inbox")
        ]
        indexes = [
            models.Index(fields=["status", "id"], name="inbound_email_by_status"),
            models.Index(fields=["ticket", "id"], name="inbound_email_by_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.message_key} ({self.status})"


class OutboundEmail(models.Model):
    """One mail we send: an agent's reply or an acknowledgement.

    Invariants: ``message_id`` is generated once when queued, so a retry re-sends the very same
    message. A row moves queued -> sending only through a conditional UPDATE (one worker wins);
    then to sent (with the relay's answer), back to queued with a later ``next_attempt_at`` on a
    temporary failure, or failed with a reason on a permanent one; a delivery report later
    marks it bounced. At most one row per ticket message (``ticket_message`` unique).
    """

    class Kind(models.TextChoices):
        REPLY = "reply", "Agent reply"
        ACK = "ack", "Acknowledgement"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"

    public_id = models.CharField(max_length=40, unique=True, default=new_outbound_id, editable=False)
    inbox = models.ForeignKey("channels.Inbox", on_delete=models.PROTECT, related_name="outbound_emails")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    ticket_message = models.OneToOneField(
        "tickets.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    to_address = models.CharField(max_length=320)
    from_address = models.CharField(max_length=320)
    reply_to = models.CharField(max_length=320)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, unique=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.JSONField(default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    relay_response = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbound_email_due"),
            models.Index(fields=["to_address", "kind", "created_at"], name="outbound_email_by_rcpt"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_address} ({self.state})"


class BouncedAddress(models.Model):
    """An address that bounced permanently (a 5.x.x delivery report). We stop writing to it until
    the customer writes again from it (``clear_bounce`` on their next inbound message)."""

    address = models.CharField(max_length=320, unique=True)
    status = models.CharField(max_length=16)
    diagnostic = models.TextField(blank=True)
    bounced_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.address


class ImapFolderState(models.Model):
    """Where IMAP polling of one folder of one inbox stands.

    Invariants: one row per (inbox, folder). ``last_uid`` is the highest UID whose ledger row is
    committed *and* whose after-processing action (seen / move / delete) the server accepted, and
    it only counts for ``uidvalidity``: when the server reports another UIDVALIDITY the folder is
    scanned again from UID 1 (the ledger's per-inbox Message-ID key makes that harmless). A poll
    holds the folder only through a conditional UPDATE of ``locked_until`` (a lease), so two
    workers never poll the same folder at once and a crashed worker's lease simply expires.
    """

    inbox = models.ForeignKey("channels.Inbox", on_delete=models.CASCADE, related_name="imap_folders")
    folder = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    lock_token = models.CharField(max_length=64, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["inbox", "folder"], name="imap_folder_state_once_per_folder")
        ]

    def __str__(self) -> str:
        return f"{self.inbox_id}:{self.folder} uidvalidity={self.uidvalidity} last_uid={self.last_uid}"
