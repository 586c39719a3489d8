"""Shared kernel models: base classes, the search index and periodic-job bookkeeping."""

from __future__ import annotations

from django.db import models


class TimeStampedModel(models.Model):
    """Abstract: ``created_at`` set once, ``updated_at`` on every save."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SearchDocument(models.Model):
    """One searchable text of one object (a ticket subject, a message body, a customer).

    Invariants: at most one row per (kind, object_id). Rows are written by services in the same
    transaction as the object they describe; the database keeps the full-text index on them
    itself (an FTS5 table fed by triggers on SQLite, a generated ``tsvector`` column on
    PostgreSQL), so there is no separate index to drift or rebuild. ``ticket_id`` and
    ``customer_id`` let the permission policy filter hits without loading every object.
    """

    class Kind(models.TextChoices):
        TICKET = "ticket", "Ticket"
        MESSAGE = "message", "Public message"
        NOTE = "note", "Internal note"
        CUSTOMER = "customer", "Customer"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.BigIntegerField()
    ticket_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    body = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="search_doc_unique")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id}"


class ScheduledRun(models.Model):
    """One slot of one periodic job that some scheduler claimed.

    Invariant: unique per (job, slot). A scheduler enqueues a job's task only after inserting
    this row, so several schedulers on several machines never run the same slot twice.
    """

    job = models.CharField(max_length=100)
    slot = models.DateTimeField()
    claimed_at = models.DateTimeField(auto_now_add=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    task_result_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="scheduled_run_unique")]
        indexes = [models.Index(fields=["job", "-slot"], name="scheduled_run_latest")]

    def __str__(self) -> str:
        return f"{self.job}@{self.slot.isoformat()}"


class CustomFieldDefinition(TimeStampedModel):
    """An admin-defined typed field on customers, organisations or tickets.

    Invariants: ``key`` is unique per target and never changes once values exist (values are
    stored in each object's ``custom_fields`` JSON under this key). ``choices`` is only used
    when ``field_type`` is ``choice``.
    """

    class Target(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        ORGANISATION = "organisation", "Organisation"
        TICKET = "ticket", "Ticket"

    class FieldType(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        BOOLEAN = "boolean", "Yes / no"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"

    target = models.CharField(max_length=16, choices=Target.choices)
    key = models.SlugField(max_length=64)
    label = models.CharField(max_length=120)
    field_type = models.CharField(max_length=16, choices=FieldType.choices)
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["target", "key"], name="custom_field_unique_key")]

    def __str__(self) -> str:
        return f"{self.target}.{self.key}"
