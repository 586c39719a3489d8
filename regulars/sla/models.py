"""Business calendars, SLA policies, each ticket's clocks, the events they raised, and suppliers."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from regulars.core.models import TimeStampedModel
from regulars.customers.models import SupportPlan
from regulars.sla.business_time import WEEKDAYS, CalendarSpec, DayHours, parse_day_hours
from regulars.sla.ids import new_cal_id, new_slp_id, new_sup_id, new_swt_id
from regulars.tickets.models import Channel, Priority, Ticket, TicketType

TARGETS = ("first_reply", "next_reply", "resolution")


class TargetState(models.TextChoices):
    NONE = "none", "No target"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"
    MET = "met", "Met"


# A running target (not yet met) that is at risk or already missed: the desk's "at risk" queue.
# One expression for the partial index and the query, so SQLite uses the index (exact match only).
_RISKY = ("at_risk", "breached")
AT_RISK_CONDITION = Q(is_open=True) & (
    Q(first_reply_state__in=_RISKY, first_reply_at__isnull=True)
    | Q(next_reply_state__in=_RISKY, next_reply_replied_at__isnull=True)
    | Q(resolution_state__in=_RISKY, resolved_at__isnull=True)
)


class BusinessCalendar(TimeStampedModel):
    """When we are open: weekly hours in one time zone, public holidays, and exceptions.

    Invariants: ``weekly_hours`` maps ``mon``..``sun`` to sorted, non-overlapping ``[HH:MM, HH:MM]``
    pairs (a missing day is closed); ``time_zone`` is an IANA zone. Services validate both.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_cal_id, editable=False)
    name = models.CharField(max_length=120, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    weekly_hours = models.JSONField(default=dict, blank=True)
    holiday_country = models.CharField(max_length=8, blank=True, help_text="ISO country code, e.g. GB.")
    holiday_subdivision = models.CharField(max_length=16, blank=True, help_text="e.g. ENG, NY, NSW.")

    def __str__(self) -> str:
        return self.name

    def weekly(self) -> tuple[DayHours, ...]:
        return tuple(parse_day_hours(self.weekly_hours.get(day, [])) for day in WEEKDAYS)

    def spec(self, exceptions: list[CalendarException] | None = None) -> CalendarSpec:
        rows = exceptions if exceptions is not None else list(self.exceptions.all())
        return CalendarSpec(
            time_zone=self.time_zone,
            weekly=self.weekly(),
            holiday_country=self.holiday_country,
            holiday_subdivision=self.holiday_subdivision,
            exceptions=tuple(sorted((row.date, parse_day_hours(row.hours)) for row in rows)),
        )


class CalendarException(models.Model):
    """One date with special hours; empty ``hours`` means closed (a custom holiday)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField()
    name = models.CharField(max_length=120, blank=True)
    hours = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="sla_exception_per_date")]

    def __str__(self) -> str:
        return f"{self.calendar} {self.date}"


class SlaPolicy(TimeStampedModel):
    """Targets for the tickets it matches.

    Matching: blank ``plan``/``priority``/``channel`` match anything; ``conditions`` may require
    ``ticket_types`` (any of) and ``tags`` (any of). Among the active policies that match, the most
    specific (most criteria set) wins, then the lower ``position``. A target left empty is not
    tracked. ``*_business`` says whether a target counts business time on ``calendar`` or calendar
    time (24/7); without a calendar every target counts calendar time.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_slp_id, editable=False)
    name = models.CharField(max_length=120, unique=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    plan = models.ForeignKey(SupportPlan, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    priority = models.CharField(max_length=16, choices=Priority.choices, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    conditions = models.JSONField(default=dict, blank=True)
    calendar = models.ForeignKey(
        BusinessCalendar, null=True, blank=True, on_delete=models.PROTECT, related_name="policies"
    )
    first_reply_minutes = models.PositiveIntegerField(null=True, blank=True)
    first_reply_business = models.BooleanField(default=True)
    next_reply_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_reply_business = models.BooleanField(default=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_business = models.BooleanField(default=True)
    at_risk_share = models.FloatField(default=0.75)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name

    @property
    def specificity(self) -> int:
        return (
            bool(self.plan_id)
            + bool(self.priority)
            + bool(self.channel)
            + bool(self.conditions.get("ticket_types"))
            + bool(self.conditions.get("tags"))
        )

    def matches(
        self, *, plan_id: int | None, priority: str, channel: str, ticket_type: str, tags: list[str]
    ) -> bool:
        if not self.is_active:
            return False
        if self.plan_id is not None and self.plan_id != plan_id:
            return False
        if self.priority and self.priority != priority:
            return False
        if self.channel and self.channel != channel:
            return False
        types = self.conditions.get("ticket_types") or []
        if types and ticket_type not in types:
            return False
        wanted = self.conditions.get("tags") or []
        return not (wanted and not set(wanted) & set(tags))

    def target(self, name: str) -> tuple[timedelta | None, bool]:
        minutes = getattr(self, f"{name}_minutes")
        business = bool(getattr(self, f"{name}_business")) and self.calendar_id is not None
        return (timedelta(minutes=minutes) if minutes else None), business


class TicketSla(models.Model):
    """The SLA clocks of one ticket.

    Invariants: the anchors (``started_at``, replies, ``resolved_at``, ``pauses``) are derived from
    the ticket's messages and history by ``services.sync_ticket_slas`` and nothing else; due times,
    at-risk times and states are derived from the anchors, the policy and its calendar by
    ``clocks.compute``. ``pauses`` lists ``[start, end|null]`` ISO instants while the ticket was
    pending, on hold or solved; due times are shifted by the business time paused. ``notified`` is
    a bit set of the at-risk/breach events already raised (see ``SlaEventLog``), so
    ``next_check_at`` is the earliest threshold whose event has not been raised yet.
    ``priority``/``channel``/``plan``/``ticket_type``/``tags`` are copies of what policy matching
    needs, so a full recompute reads this table only.
    """

    ticket = models.OneToOneField(Ticket, primary_key=True, on_delete=models.CASCADE, related_name="sla")
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_open = models.BooleanField(default=True)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.API)
    plan = models.ForeignKey(SupportPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ticket_type = models.CharField(max_length=16, choices=TicketType.choices, default=TicketType.QUESTION)
    tags = models.JSONField(default=list, blank=True)

    started_at = models.DateTimeField()
    first_reply_at = models.DateTimeField(null=True, blank=True)
    next_reply_cycle = models.PositiveIntegerField(default=0)
    next_reply_from = models.DateTimeField(null=True, blank=True)
    next_reply_replied_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    pauses = models.JSONField(default=list, blank=True)
    is_paused = models.BooleanField(default=False)

    first_reply_due = models.DateTimeField(null=True, blank=True)
    first_reply_at_risk_at = models.DateTimeField(null=True, blank=True)
    first_reply_state = models.CharField(max_length=16, choices=TargetState.choices, default=TargetState.NONE)
    next_reply_due = models.DateTimeField(null=True, blank=True)
    next_reply_at_risk_at = models.DateTimeField(null=True, blank=True)
    next_reply_state = models.CharField(max_length=16, choices=TargetState.choices, default=TargetState.NONE)
    resolution_due = models.DateTimeField(null=True, blank=True)
    resolution_at_risk_at = models.DateTimeField(null=True, blank=True)
    resolution_state = models.CharField(max_length=16, choices=TargetState.choices, default=TargetState.NONE)

    elapsed_business = models.DurationField(
        default=timedelta(0), help_text="Resolution clock, as of computed_at."
    )
    computed_at = models.DateTimeField(null=True, blank=True)
    notified = models.PositiveSmallIntegerField(default=0)
    next_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "ticket SLA"
        indexes = [
            models.Index(
                fields=["next_check_at"], condition=Q(next_check_at__isnull=False), name="sla_next_check"
            ),
            models.Index(fields=["policy"], condition=Q(is_open=True), name="sla_open_by_policy"),
            models.Index(fields=["ticket"], condition=AT_RISK_CONDITION, name="sla_at_risk"),
        ]

    def __str__(self) -> str:
        return f"SLA of ticket {self.ticket_id}"


class SlaEventLog(models.Model):
    """One raised ``sla.at_risk`` / ``sla.breached`` event. Unique, and inserted before the event is
    emitted, so each (ticket, target, kind, cycle) is announced exactly once whoever runs the job.
    ``cycle`` numbers next-reply rounds (0 for first reply and resolution)."""

    class Kind(models.TextChoices):
        AT_RISK = "at_risk", "At risk"
        BREACHED = "breached", "Breached"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    target = models.CharField(max_length=16)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    cycle = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "target", "kind", "cycle"], name="sla_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.target} on ticket {self.ticket_id}"


class SlaSyncState(models.Model):
    """Bookkeeping of the periodic job: the ``updated_at`` watermark it has reconciled up to, and
    whether an admin change (policy, calendar) asked for a full recompute."""

    key = models.CharField(max_length=32, unique=True)
    watermark = models.DateTimeField(null=True, blank=True)
    full_recompute_requested = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.key


class Supplier(TimeStampedModel):
    """Someone we depend on to solve a ticket, with the targets they promised us (back-to-back)."""

    public_id = models.CharField(max_length=40, unique=True, default=new_sup_id, editable=False)
    name = models.CharField(max_length=120, unique=True)
    contact_email = models.EmailField(blank=True)
    calendar = models.ForeignKey(
        BusinessCalendar, null=True, blank=True, on_delete=models.PROTECT, related_name="suppliers"
    )
    response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class SupplierWait(TimeStampedModel):
    """A ticket waiting on a supplier. The supplier's clock runs against the supplier (its own
    calendar); the customer's SLA keeps running against us unless an agent puts the ticket on
    hold. Invariant: at most one unresolved wait per ticket and supplier."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting for the supplier"
        RESPONDED = "responded", "Supplier responded"
        RESOLVED = "resolved", "Resolved"

    public_id = models.CharField(max_length=40, unique=True, default=new_swt_id, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="supplier_waits")
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="waits")
    reference = models.CharField(max_length=200, blank=True, help_text="The supplier's case number.")
    started_at = models.DateTimeField()
    response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "supplier"], condition=~Q(state="resolved"), name="sla_one_open_wait"
            )
        ]
        indexes = [models.Index(fields=["supplier", "started_at"], name="sla_wait_by_supplier")]

    def __str__(self) -> str:
        return f"{self.ticket_id} waits on {self.supplier_id}"
