"""Django admin for what the desk remembers: saved filters and presence."""

from __future__ import annotations

from django.contrib import admin

from regulars.core.admin import ReadOnlyAdmin
from regulars.desk.models import SavedFilter, TicketPresence


@admin.register(SavedFilter)
class SavedFilterAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "shared", "query", "updated_at")
    list_filter = ("shared",)
    search_fields = ("name", "owner__email")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    ordering = ("owner", "name")


@admin.register(TicketPresence)
class TicketPresenceAdmin(ReadOnlyAdmin):
    # Rows are overwritten every few seconds by open ticket pages; editing them means nothing.
    list_display = ("ticket", "agent", "state", "seen_at")
    list_filter = ("state",)
    list_select_related = ("ticket", "agent")
    raw_id_fields = ("ticket", "agent")
    ordering = ("-seen_at",)
    show_full_result_count = False
