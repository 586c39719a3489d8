"""Admin pages for the SLA context. Clocks and the event log are derived: read-only here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from regulars.sla.models import (
    BusinessCalendar,
    CalendarException,
    SlaEventLog,
    SlaPolicy,
    SlaSyncState,
    Supplier,
    SupplierWait,
    TicketSla,
)


class CalendarExceptionInline(admin.TabularInline[CalendarException, BusinessCalendar]):
    model = CalendarException
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin[BusinessCalendar]):
    list_display = ("name", "time_zone", "holiday_country", "holiday_subdivision")
    search_fields = ("name",)
    inlines = [CalendarExceptionInline]


@admin.register(CalendarException)
class CalendarExceptionAdmin(admin.ModelAdmin[CalendarException]):
    list_display = ("calendar", "date", "name")
    list_filter = ("calendar",)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin[SlaPolicy]):
    list_display = ("name", "position", "is_active", "plan", "priority", "channel", "calendar")
    list_filter = ("is_active", "priority", "channel")
    search_fields = ("name",)


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TicketSla)
class TicketSlaAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "policy", "first_reply_state", "resolution_state", "is_paused", "next_check_at")
    list_filter = ("first_reply_state", "resolution_state", "is_paused")
    raw_id_fields = ("ticket",)


@admin.register(SlaEventLog)
class SlaEventLogAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "target", "kind", "cycle", "due_at", "created_at")
    list_filter = ("kind", "target")


@admin.register(SlaSyncState)
class SlaSyncStateAdmin(admin.ModelAdmin[SlaSyncState]):
    list_display = ("key", "watermark", "full_recompute_requested")


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin[Supplier]):
    list_display = (
        "name",
        "contact_email",
        "calendar",
        "response_minutes",
        "resolution_minutes",
        "is_active",
    )
    search_fields = ("name", "contact_email")


@admin.register(SupplierWait)
class SupplierWaitAdmin(admin.ModelAdmin[SupplierWait]):
    list_display = ("ticket", "supplier", "state", "started_at", "response_due_at", "resolution_due_at")
    list_filter = ("state", "supplier")
    raw_id_fields = ("ticket",)
