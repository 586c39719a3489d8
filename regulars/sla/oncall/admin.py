"""Django admin for on-call.

Rotations, policies, incidents, pages and drills change only through the services (which
validate the chain and write audit rows), so here they are read-only. Drill plans and agents'
webhooks are plain settings and are edited here.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from regulars.core.admin import ReadOnlyAdmin
from regulars.sla.oncall.models import (
    Drill,
    DrillPlan,
    EscalationLevel,
    EscalationPolicy,
    Incident,
    OnCallContact,
    Page,
    Rotation,
    RotationOverride,
    RotationParticipant,
)


class ParticipantInline(admin.TabularInline):
    model = RotationParticipant
    extra = 0
    can_delete = False
    readonly_fields = ("agent", "position")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class LevelInline(admin.TabularInline):
    model = EscalationLevel
    extra = 0
    can_delete = False
    readonly_fields = ("position", "rotation", "agent", "repage_after_minutes", "move_up_after_minutes")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Rotation)
class RotationAdmin(ReadOnlyAdmin):
    list_display = ("name", "cadence", "handoff_time", "handoff_weekday", "time_zone", "team")
    search_fields = ("name", "=public_id")
    inlines = (ParticipantInline,)


@admin.register(RotationParticipant)
class RotationParticipantAdmin(ReadOnlyAdmin):
    list_display = ("rotation", "position", "agent")
    list_select_related = ("rotation", "agent")


@admin.register(RotationOverride)
class RotationOverrideAdmin(ReadOnlyAdmin):
    list_display = ("rotation", "agent", "starts_at", "ends_at", "reason")
    list_select_related = ("rotation", "agent")
    ordering = ("-starts_at",)


@admin.register(OnCallContact)
class OnCallContactAdmin(admin.ModelAdmin):
    list_display = ("agent", "webhook_url")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    raw_id_fields = ("agent",)


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(ReadOnlyAdmin):
    list_display = ("name", "team", "is_default", "time_zone", "final_page_limit")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    search_fields = ("name", "=public_id")
    inlines = (LevelInline,)


@admin.register(EscalationLevel)
class EscalationLevelAdmin(ReadOnlyAdmin):
    list_display = (
        "policy",
        "position",
        "rotation",
        "agent",
        "repage_after_minutes",
        "move_up_after_minutes",
    )
    list_select_related = ("policy", "rotation", "agent")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "ticket",
        "state",
        "current_level",
        "triggered_at",
        "acknowledged_by",
        "acknowledged_at",
    )
    list_filter = ("state",)
    search_fields = ("=public_id", "=ticket__number")
    list_select_related = ("ticket", "acknowledged_by")
    ordering = ("-id",)


@admin.register(Page)
class PageAdmin(ReadOnlyAdmin):
    list_display = (
        "incident",
        "level",
        "attempt",
        "channel",
        "recipient",
        "due_at",
        "sent_at",
        "outcome",
        "tries",
    )
    list_filter = ("outcome", "channel")
    list_select_related = ("incident", "recipient")
    ordering = ("-id",)


@admin.register(DrillPlan)
class DrillPlanAdmin(admin.ModelAdmin):
    list_display = ("name", "policy", "cron", "time_zone", "deadline_minutes", "is_active")
    list_filter = ("is_active",)


@admin.register(Drill)
class DrillAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "state", "started_at", "acknowledged_by", "seconds", "failed_at")
    list_filter = ("state",)
    list_select_related = ("acknowledged_by",)
    ordering = ("-id",)
