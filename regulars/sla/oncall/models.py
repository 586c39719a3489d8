"""On-call rotations, escalation policies, incidents, pages and drills.

The chain of accountability always ends in a human: every escalation policy's last level is a
named, active agent, every notification attempt is a ``Page`` row, and every acknowledgement
records who and when.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from regulars.accounts.models import Team
from regulars.core.models import TimeStampedModel
from regulars.sla.oncall.ids import (
    new_drill_id,
    new_incident_id,
    new_override_id,
    new_page_id,
    new_policy_id,
    new_rotation_id,
)
from regulars.tickets.models import Ticket


class Cadence(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


class Rotation(TimeStampedModel):
    """Who is on call when: participants take turns, handing off at a local wall-clock time.

    Invariants: hand-offs happen at ``handoff_time`` in ``time_zone`` (so 09:00 stays 09:00
    across daylight-saving changes), every day or every week on ``handoff_weekday`` (0 is
    Monday). The first participant's shift starts at the first hand-off on or before
    ``starts_on``; participants follow in ``position`` order and wrap around. Participants are
    agents or admins.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_rotation_id, editable=False)
    name = models.CharField(max_length=120, unique=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    time_zone = models.CharField(max_length=64, default="UTC")
    cadence = models.CharField(max_length=8, choices=Cadence.choices, default=Cadence.WEEKLY)
    handoff_time = models.TimeField()
    handoff_weekday = models.PositiveSmallIntegerField(default=0, help_text="0 is Monday; weekly only.")
    starts_on = models.DateField()

    def __str__(self) -> str:
        return self.name


class RotationParticipant(models.Model):
    """One agent's place in a rotation. Unique per (rotation, position) and (rotation, agent)."""

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="participants")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["rotation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["rotation", "position"], name="oncall_participant_position"),
            models.UniqueConstraint(fields=["rotation", "agent"], name="oncall_participant_once"),
        ]

    def __str__(self) -> str:
        return f"{self.rotation} #{self.position}: {self.agent}"


class RotationOverride(models.Model):
    """Someone covers a stretch of a rotation: ``agent`` is on call from ``starts_at`` to ``ends_at``.

    Invariant: ``starts_at < ends_at``. When overrides overlap, the one created last wins.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_override_id, editable=False)
    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="overrides")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=250, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["rotation", "ends_at"], name="oncall_override_active")]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=models.F("ends_at")), name="oncall_override_span"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent} covers {self.rotation}"


class OnCallContact(models.Model):
    """How to reach one agent besides email: their own webhook (a phone bridge, a chat bot)."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oncall_contact"
    )
    webhook_url = models.URLField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"contact of {self.agent}"


class EscalationPolicy(TimeStampedModel):
    """Who is paged, in which order, for an urgent ticket outside business hours.

    Invariants: at least one level; the last level is a named, active agent (a policy that
    would end in a rotation or nobody is refused by the service). ``business_hours`` maps a
    weekday ("0" is Monday) to a list of ``["HH:MM", "HH:MM"]`` intervals in ``time_zone``; an
    empty mapping means the team is never in the office, so every urgent ticket pages. At most
    one policy is the default; a ticket uses its team's policy, else the default.
    ``final_page_limit`` caps how many times the final person is paged before admins are
    alerted.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_policy_id, editable=False)
    name = models.CharField(max_length=120, unique=True)
    team = models.OneToOneField(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="escalation_policy"
    )
    is_default = models.BooleanField(default=False)
    time_zone = models.CharField(max_length=64, default="UTC")
    business_hours = models.JSONField(default=dict, blank=True)
    # When set, the shared business calendar (with its holidays and exceptions) decides what is
    # "outside business hours"; business_hours above is only the fallback for policies without one.
    calendar = models.ForeignKey(
        "sla.BusinessCalendar", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    webhook_url = models.URLField(max_length=500, blank=True)
    final_page_limit = models.PositiveSmallIntegerField(default=6)

    class Meta:
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="oncall_one_default"
            )
        ]

    def __str__(self) -> str:
        return self.name


class EscalationLevel(models.Model):
    """One step of a policy: page a rotation's on-call person or a named agent.

    Invariants: exactly one of ``rotation`` and ``agent``. The person is paged on entering the
    level, re-paged every ``repage_after_minutes``, and after ``move_up_after_minutes`` without
    acknowledgement the next level takes over (the last level has no next: it keeps re-paging).
    """

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="levels")
    position = models.PositiveSmallIntegerField()
    rotation = models.ForeignKey(Rotation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    repage_after_minutes = models.PositiveIntegerField(default=5)
    move_up_after_minutes = models.PositiveIntegerField(default=15)

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="oncall_level_position"),
            models.CheckConstraint(
                condition=Q(rotation__isnull=True, agent__isnull=False)
                | Q(rotation__isnull=False, agent__isnull=True),
                name="oncall_level_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} level {self.position}"


class IncidentState(models.TextChoices):
    TRIGGERED = "triggered", "Triggered"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved without acknowledgement"


class Incident(TimeStampedModel):
    """An urgent ticket outside business hours that must reach a human. At most one per ticket.

    Invariants: while ``triggered`` the escalation job pages ``current_level``, which started at
    ``level_started_at`` (a scheduled time, so lateness of the job never shifts the chain).
    ``acknowledged`` records who and when and stops all further pages. ``resolved`` means the
    ticket was solved before anyone acknowledged. ``exhausted_at`` is set once, when the final
    person has been paged ``final_page_limit`` times (admins are alerted then).
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_incident_id, editable=False)
    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="oncall_incident")
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.PROTECT, related_name="incidents")
    state = models.CharField(max_length=16, choices=IncidentState.choices, default=IncidentState.TRIGGERED)
    triggered_at = models.DateTimeField()
    current_level = models.PositiveSmallIntegerField(default=1)
    level_started_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_via = models.CharField(max_length=16, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    exhausted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "id"], name="oncall_incident_state")]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.state})"


class PageChannel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class PageOutcome(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (retried)"


class Page(models.Model):
    """One notification attempt: who, at which level, which attempt, which channel, what happened.

    Invariant: unique per (incident, level, attempt, channel). The row is inserted, in state
    ``sending``, before anything is sent, so two escalation runs never send the same step
    twice. A send that raises is marked ``failed`` and retried by the next run (up to
    ``MAX_TRIES``); a row left in ``sending`` by a crash mid-send is never resent, because it
    may have gone out (at most once; the chain keeps moving regardless).
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_page_id, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="pages")
    level = models.PositiveSmallIntegerField()
    attempt = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=16, choices=PageChannel.choices)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    target = models.CharField(max_length=500)
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=PageOutcome.choices, default=PageOutcome.SENDING)
    tries = models.PositiveSmallIntegerField(default=1)
    error = models.CharField(max_length=500, blank=True)

    MAX_TRIES = 5

    class Meta:
        ordering = ["incident", "due_at", "level", "attempt", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "level", "attempt", "channel"], name="oncall_page_once_per_step"
            )
        ]
        indexes = [models.Index(fields=["outcome", "id"], name="oncall_page_outcome")]

    def __str__(self) -> str:
        return f"{self.incident.public_id} L{self.level}#{self.attempt} {self.channel}"


class DrillPlan(TimeStampedModel):
    """When to test the after-hours path: a cron schedule in a time zone, against one policy.

    Invariant: at most one drill per (plan, slot); a slot before the plan existed never runs.
    A drill nobody acknowledges within ``deadline_minutes`` fails loudly.
    """

    name = models.CharField(max_length=120, unique=True)
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="drill_plans")
    cron = models.CharField(max_length=100, default="0 3 * * 3", help_text="Wednesdays at 03:00.")
    time_zone = models.CharField(max_length=64, default="UTC")
    deadline_minutes = models.PositiveIntegerField(default=30)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from croniter import croniter
        from django.core.exceptions import ValidationError

        from regulars.core.errors import ValidationFailed
        from regulars.sla.oncall.schedule import zone

        if not croniter.is_valid(self.cron):
            raise ValidationError({"cron": "Not a cron expression."})
        try:
            zone(self.time_zone)
        except ValidationFailed:
            raise ValidationError({"time_zone": "Unknown time zone."}) from None


class DrillState(models.TextChoices):
    RUNNING = "running", "Running"
    PASSED = "passed", "Acknowledged in time"
    FAILED = "failed", "Nobody acknowledged in time"


class Drill(models.Model):
    """One self-test: a synthetic urgent ticket sent through the real escalation path.

    Invariants: ``seconds`` is the time from ``started_at`` to the first acknowledgement.
    ``failed`` is set once, when ``deadline_at`` passes unacknowledged (an event, an email to
    every admin and this row say so); a later acknowledgement is still recorded.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_drill_id, editable=False)
    plan = models.ForeignKey(
        DrillPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="drills"
    )
    slot = models.DateTimeField(null=True, blank=True)
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.PROTECT, related_name="drills")
    ticket = models.OneToOneField(Ticket, on_delete=models.PROTECT, related_name="oncall_drill")
    state = models.CharField(max_length=16, choices=DrillState.choices, default=DrillState.RUNNING)
    started_at = models.DateTimeField()
    deadline_at = models.DateTimeField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    seconds = models.PositiveIntegerField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "slot"], name="oncall_drill_once_per_slot")]
        indexes = [models.Index(fields=["state", "deadline_at"], name="oncall_drill_due")]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.state})"
