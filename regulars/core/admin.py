"""Django admin for the shared kernel, and the read-only base every context's admin uses."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from regulars.core.models import CustomFieldDefinition, ScheduledRun, SearchDocument


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that only services write (history, audit, tickets): look, never touch.

    The admin would otherwise save them without the audit row, history entry or event the
    services write alongside every change.
    """

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(admin.ModelAdmin):
    list_display = ("key", "label", "target", "field_type", "required", "updated_at")
    list_filter = ("target", "field_type", "required")
    search_fields = ("key", "label")
    ordering = ("target", "key")

    def get_readonly_fields(self, request: HttpRequest, obj: CustomFieldDefinition | None = None) -> Any:
        # Values are stored under ``key`` in each object's JSON, so renaming would orphan them.
        return ("key", "target") if obj is not None else ()


@admin.register(ScheduledRun)
class ScheduledRunAdmin(ReadOnlyAdmin):
    list_display = ("job", "slot", "claimed_by", "claimed_at", "task_result_id")
    list_filter = ("job", "claimed_by")
    search_fields = ("job", "task_result_id")
    date_hierarchy = "slot"
    ordering = ("-slot",)


@admin.register(SearchDocument)
class SearchDocumentAdmin(ReadOnlyAdmin):
    list_display = ("kind", "object_id", "ticket_id", "customer_id")
    list_filter = ("kind",)
    search_fields = ("=object_id", "=ticket_id", "=customer_id")
    show_full_result_count = False  # a COUNT over the whole index on every page is wasted work
