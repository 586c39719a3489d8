"""Tickets, their messages, attachments, statuses, tags and append-only history."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from regulars.accounts.models import Team
from regulars.core.ids import new_att_id, new_msg_id
from regulars.core.models import TimeStampedModel
from regulars.customers.models import Customer, Organisation


class StatusCategory(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    ON_HOLD = "on_hold", "On hold"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


# "Unsolved" is what agent queues show. Kept as one tuple so the partial indexes below and the
# queue queries use the very same list (SQLite only uses a partial index on an exact match).
UNSOLVED_CATEGORIES = ("new", "open", "pending", "on_hold")


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class TicketType(models.TextChoices):
    QUESTION = "question", "Question"
    INCIDENT = "incident", "Incident"
    PROBLEM = "problem", "Problem"
    TASK = "task", "Task"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEB = "web", "Web form"
    CHAT = "chat", "Chat"
    PHONE = "phone", "Phone"
    SOCIAL = "social", "Social"
    API = "api", "API"


class Status(models.Model):
    """An admin-defined status. Each maps to one category, which is what the rules look at.

    Invariant: exactly one default status per category (used when a ticket moves to a category
    without naming a status).
    """

    name = models.CharField(max_length=64, unique=True)
    slug = models.SlugField(max_length=64, unique=True)
    category = models.CharField(max_length=16, choices=StatusCategory.choices)
    is_default = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "statuses"
        constraints = [
            models.UniqueConstraint(
                fields=["category"], condition=Q(is_default=True), name="status_one_default_per_category"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A label. Names are lower-case slugs, unique."""

    name = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return self.name


class Ticket(TimeStampedModel):
    """One request from one requester, tracked until it is solved.

    Invariants: ``number`` is unique, human-friendly and never reused. ``status_category``
    always equals ``status.category`` (copied so queues filter without a join). Every change
    writes a ``TicketEvent`` row in the same transaction. A merged ticket points at the ticket
    it was merged into and is closed.
    """

    number = models.BigIntegerField(unique=True)
    subject = models.CharField(max_length=250)
    requester = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    status = models.ForeignKey(Status, on_delete=models.PROTECT, related_name="+")
    status_category = models.CharField(max_length=16, choices=StatusCategory.choices)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    priority_reason = models.CharField(max_length=500, blank=True)
    ticket_type = models.CharField(max_length=16, choices=TicketType.choices, default=TicketType.QUESTION)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.API)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    collaborators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="collaborating_tickets"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    custom_fields = models.JSONField(default=dict, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    # A problem ticket gathers the tickets of one incident so they can be answered together.
    problem = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    is_flagged = models.BooleanField(default=False, help_text="From a blocked customer.")
    # Counted by the database (triggers in ``regulars.tickets.versions``) on every update of the
    # row and every change of its tags or collaborators, whatever wrote it; NULL until the first.
    # The API's JSON cache keys on it. What an ORM instance holds may be stale: never write it.
    row_version = models.BigIntegerField(null=True, blank=True, editable=False)
    last_message_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status_category", "-id"], name="ticket_by_category"),
            models.Index(
                fields=["team", "-id"],
                condition=Q(status_category__in=UNSOLVED_CATEGORIES),
                name="ticket_team_queue",
            ),
            # A team queue filtered or sorted by priority: without it PostgreSQL walks the primary
            # key past every closed ticket to reach page 20 of a sparse priority (issue 5 bench).
            models.Index(
                fields=["team", "priority", "-id"],
                condition=Q(status_category__in=UNSOLVED_CATEGORIES),
                name="ticket_team_priority_queue",
            ),
            models.Index(
                fields=["assignee", "-id"],
                condition=Q(status_category__in=UNSOLVED_CATEGORIES),
                name="ticket_assignee_queue",
            ),
            models.Index(fields=["requester", "-id"], name="ticket_requester"),
            models.Index(fields=["updated_at", "id"], name="ticket_updated"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"


class Message(models.Model):
    """One entry in a ticket's conversation: a public reply, an internal note or a system event.

    Invariants: exactly one of ``author_user`` / ``author_customer`` is set unless the author
    is the system. ``body_html`` is always sanitised (nh3) before it is stored. Customers never
    see notes or events.
    """

    class Kind(models.TextChoices):
        REPLY = "reply", "Public reply"
        NOTE = "note", "Internal note"
        EVENT = "event", "System event"

    class AuthorType(models.TextChoices):
        AGENT = "agent", "Agent"
        CUSTOMER = "customer", "Customer"
        SYSTEM = "system", "System"

    public_id = models.CharField(max_length=40, unique=True, default=new_msg_id, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    author_type = models.CharField(max_length=8, choices=AuthorType.choices)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.API)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    is_flagged = models.BooleanField(default=False, help_text="Sent by a blocked customer.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["ticket", "id"], name="message_by_ticket")]

    def __str__(self) -> str:
        return f"{self.kind} on #{self.ticket_id}"

    @property
    def is_public(self) -> bool:
        return self.kind == self.Kind.REPLY


class Blob(models.Model):
    """File content, stored once per SHA-256 under ATTACHMENT_ROOT (outside the web root)."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.sha256


class Attachment(models.Model):
    """A file attached to a message. Served only to those who may see the message."""

    public_id = models.CharField(max_length=40, unique=True, default=new_att_id, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120, default="application/octet-stream")
    is_inline = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.filename


class TicketEvent(models.Model):
    """One change to a ticket: append-only history, never updated or deleted one by one."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="history")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)
    field = models.CharField(max_length=40, blank=True)
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["ticket", "id"], name="ticket_event_by_ticket")]

    def __str__(self) -> str:
        return f"{self.action} {self.field} on #{self.ticket_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("ticket history is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("ticket history is append-only")


class CatalogVersion(models.Model):
    """One row, counted up by the database when a name that tickets' JSON shows changes (a
    status's slug, a tag's name, a public id of a customer, organisation, team or agent), so the
    API's JSON cache never serves an old name. Kept by triggers (``regulars.tickets.versions``)."""

    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"catalog version {self.value}"


class SatisfactionRating(models.Model):
    """The requester's rating of the service on a solved ticket (CSAT, 1 to 5, with a comment).

    Invariants: one rating per ticket; only the requester rates, and only once the ticket is
    solved or closed. A later rating replaces the score and comment (kept in ticket history).
    """

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="satisfaction")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="satisfaction_ratings")
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1) & Q(score__lte=5), name="satisfaction_score_1_to_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.score}/5 on #{self.ticket_id}"
