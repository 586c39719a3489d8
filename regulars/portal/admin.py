"""Django admin for pending portal requests: read-only, since only the services write them."""

from __future__ import annotations

from django.contrib import admin

from regulars.core.admin import ReadOnlyAdmin
from regulars.portal.models import PortalRequest, PortalRequestFile


class PortalRequestFileInline(admin.TabularInline):
    model = PortalRequestFile
    fields = ("filename", "content_type", "blob")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(PortalRequest)
class PortalRequestAdmin(ReadOnlyAdmin):
    list_display = ("email", "subject", "created_at", "expires_at", "confirmed_at", "ticket")
    list_filter = ("confirmed_at",)
    search_fields = ("=email", "subject")
    list_select_related = ("ticket",)
    exclude = ("token_hash",)  # a hash, but nobody needs to see it
    raw_id_fields = ("ticket",)
    inlines = (PortalRequestFileInline,)
    show_full_result_count = False


@admin.register(PortalRequestFile)
class PortalRequestFileAdmin(ReadOnlyAdmin):
    list_display = ("filename", "content_type", "request")
    list_select_related = ("request",)
    raw_id_fields = ("request", "blob")
