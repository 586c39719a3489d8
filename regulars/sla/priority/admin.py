"""Django admin for the priority policy: read-only here.

The policy changes through ``services.update_policy`` (``PUT /api/v1/sla/priority/policy``), which
validates the scoring table and writes the audit row; the admin would save without either.
"""

from __future__ import annotations

from django.contrib import admin

from regulars.core.admin import ReadOnlyAdmin
from regulars.sla.priority.models import PriorityAssessment, PriorityPolicy, SeverityRule


@admin.register(PriorityPolicy)
class PriorityPolicyAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "value_modifier_enabled", "impact_window_hours", "updated_at")


@admin.register(SeverityRule)
class SeverityRuleAdmin(ReadOnlyAdmin):
    list_display = ("name", "severity", "ticket_type", "tag", "custom_field", "custom_value", "position")
    list_filter = ("severity", "ticket_type")


@admin.register(PriorityAssessment)
class PriorityAssessmentAdmin(ReadOnlyAdmin):
    list_display = (
        "ticket",
        "priority",
        "severity",
        "impact",
        "stated_urgency",
        "overridden_by",
        "assessed_at",
    )
    list_filter = ("priority", "severity", "impact", "stated_urgency")
    list_select_related = ("ticket", "overridden_by")
    raw_id_fields = ("ticket", "overridden_by")
    search_fields = ("=ticket__number",)
    ordering = ("-id",)
