"""Django admin for the insight engine: read-only, since writes go through services (audit rows,
signatures on model artefacts)."""

from __future__ import annotations

from django.contrib import admin

from regulars.core.admin import ReadOnlyAdmin
from regulars.insights.models import (
    Category,
    MessageInsight,
    SisterBrand,
    TicketTriage,
    TriageModel,
    TriageSettings,
)


@admin.register(Category)
class CategoryAdmin(ReadOnlyAdmin):
    list_display = ("name", "team", "default_priority", "active")


@admin.register(TriageModel)
class TriageModelAdmin(ReadOnlyAdmin):
    list_display = ("version", "backend", "state", "trained_at", "progress")
    exclude = ("artefact",)


@admin.register(TriageSettings)
class TriageSettingsAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "route_threshold", "in_scope_threshold")


@admin.register(SisterBrand)
class SisterBrandAdmin(ReadOnlyAdmin):
    list_display = ("name", "contact", "forward_address", "active")


@admin.register(TicketTriage)
class TicketTriageAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "category", "confidence", "routed", "misdirected", "corrected_by")


@admin.register(MessageInsight)
class MessageInsightAdmin(ReadOnlyAdmin):
    list_display = ("message", "sentiment", "compound", "urgency", "contact_count")
