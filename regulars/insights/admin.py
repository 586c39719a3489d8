"""Django admin for the insight engine: read-only, since writes go through services (audit rows,
signatures on model artefacts)."""

from __future__ import annotations

from django.contrib import admin

from regulars.core.admin import ReadOnlyAdmin
from regulars.insights.models import (
    AlertMessage,
    AlertNotification,
    AlertSubscription,
    Category,
    EmergingAlert,
    MessageInsight,
    MisdirectedForward,
    SisterBrand,
    TicketTriage,
    TrendCount,
    TrendSeries,
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


@admin.register(MisdirectedForward)
class MisdirectedForwardAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "brand", "to_address", "created_at", "sent_at", "tries", "error")
    raw_id_fields = ("ticket",)


@admin.register(MessageInsight)
class MessageInsightAdmin(ReadOnlyAdmin):
    list_display = ("message", "sentiment", "compound", "urgency", "contact_count")


@admin.register(TrendSeries)
class TrendSeriesAdmin(ReadOnlyAdmin):
    list_display = ("dimension", "key", "first_bucket", "last_bucket")
    list_filter = ("dimension",)
    search_fields = ("key",)


@admin.register(TrendCount)
class TrendCountAdmin(ReadOnlyAdmin):
    list_display = ("series", "bucket", "count")
    list_select_related = ("series",)
    raw_id_fields = ("series",)


@admin.register(EmergingAlert)
class EmergingAlertAdmin(ReadOnlyAdmin):
    list_display = ("label", "state", "onset_bucket", "peak_count", "expected", "customer_count", "problem")
    list_filter = ("state", "dimension")
    search_fields = ("key", "label", "public_id")
    raw_id_fields = ("problem",)


@admin.register(AlertMessage)
class AlertMessageAdmin(ReadOnlyAdmin):
    list_display = ("alert", "ticket", "customer", "bucket")
    raw_id_fields = ("alert", "message", "ticket", "customer")


@admin.register(AlertSubscription)
class AlertSubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("user", "dimension", "key", "created_at")


@admin.register(AlertNotification)
class AlertNotificationAdmin(ReadOnlyAdmin):
    list_display = ("alert", "user", "reason", "created_at", "sent_at", "tries", "error")
    raw_id_fields = ("alert", "user")
