"""The priority policy (data edited by admins) and each ticket's latest assessment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models

from regulars.core.models import TimeStampedModel
from regulars.sla.priority.rules import DEFAULT_URGENCY_WORDS, default_scoring_table
from regulars.tickets.models import Ticket, TicketType


class Severity(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


def _default_words() -> dict[str, str]:
    return dict(DEFAULT_URGENCY_WORDS)


def _default_org_wide_tags() -> list[str]:
    return ["org-wide-outage"]


class PriorityPolicy(TimeStampedModel):
    """The one priority policy of this install (a singleton: always ``pk=1``).

    Invariants: ``scoring_table`` has one cell per severity x impact x urgency, each a ticket
    priority (checked by ``services.update_policy``). ``value_modifier_enabled`` is off unless an
    admin switches it on; when on it can raise a priority by one step at most (rules.py).
    """

    urgency_words = models.JSONField(
        default=_default_words,
        help_text="Phrase -> severity, matched as whole words in subject and messages.",
    )
    impact_window_hours = models.PositiveIntegerField(default=2)
    impact_several_customers = models.PositiveIntegerField(default=3)
    impact_widespread_customers = models.PositiveIntegerField(default=10)
    impact_custom_field = models.CharField(
        max_length=64, blank=True, default="category",
        help_text="Ticket custom field whose equal values mean the same issue (blank: tags only).",
    )  # fmt: skip
    org_wide_tags = models.JSONField(default=_default_org_wide_tags, blank=True)
    stated_urgency_field = models.CharField(max_length=64, blank=True, default="urgency")
    stated_urgency_tag_prefix = models.CharField(max_length=32, blank=True, default="urgency:")
    scoring_table = models.JSONField(default=default_scoring_table)
    value_modifier_enabled = models.BooleanField(default=False)
    value_modifier_min_lifetime_value = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("10000")
    )
    # Fairness report defaults (each can be overridden per report request).
    fairness_bands = models.JSONField(
        default=list, blank=True,
        help_text='[] for quartiles of the period\'s requesters, or [{"label": "small", "min": 0}, ...].',
    )  # fmt: skip
    fairness_gap_percent = models.PositiveIntegerField(default=25)
    fairness_gap_minutes = models.PositiveIntegerField(default=10)
    fairness_min_tickets = models.PositiveIntegerField(default=5)
    minutes_per_agent_message = models.PositiveIntegerField(default=6)

    class Meta:
        verbose_name_plural = "priority policy"

    def __str__(self) -> str:
        return "Priority policy"


class SeverityRule(models.Model):
    """One way the policy recognises how severe an issue is.

    A rule matches when every condition it sets holds (an empty condition matches anything);
    the most severe matching rule wins. A rule with no condition at all never matches.
    """

    name = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField(default=0)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    ticket_type = models.CharField(max_length=16, choices=TicketType.choices, blank=True)
    tag = models.CharField(max_length=64, blank=True)
    custom_field = models.CharField(max_length=64, blank=True)
    custom_value = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.name} -> {self.severity}"

    def conditions(self) -> list[str]:
        found = []
        if self.ticket_type:
            found.append(f"type {self.ticket_type}")
        if self.tag:
            found.append(f"tag {self.tag}")
        if self.custom_field:
            found.append(f"{self.custom_field}={self.custom_value}")
        return found

    def matches(self, ticket_type: str, tags: set[str], custom_fields: dict[str, Any]) -> bool:
        if not self.conditions():
            return False
        if self.ticket_type and self.ticket_type != ticket_type:
            return False
        if self.tag and self.tag not in tags:
            return False
        return not (
            self.custom_field
            and str(custom_fields.get(self.custom_field, "")).lower() != self.custom_value.lower()
        )


class PriorityAssessment(models.Model):
    """The policy's latest decision on one ticket and every factor behind it.

    Invariants: one row per ticket. ``factors`` is rules.FactorsJson. When ``overridden_by`` is
    set an agent chose the priority by hand and the policy never changes it again; the row keeps
    what the policy would have said, for display.
    """

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="priority_assessment")
    priority = models.CharField(max_length=16)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    impact = models.CharField(max_length=16)
    stated_urgency = models.CharField(max_length=16)
    reason = models.CharField(max_length=500)
    factors = models.JSONField(default=dict)
    assessed_at = models.DateTimeField()
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overridden_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"#{self.ticket_id}: {self.priority}"
