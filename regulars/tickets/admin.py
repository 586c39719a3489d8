"""Django admin for tickets and their back-office data.

Statuses and tags are edited here. Tickets, messages, attachments and history change only
through the services (which write the history row and send events), so here they are read-only.
"""

from __future__ import annotations

from django.contrib import admin

from regulars.core.admin import ReadOnlyAdmin
from regulars.tickets.models import (
    Attachment,
    Blob,
    CatalogVersion,
    Message,
    SatisfactionRating,
    Status,
    Tag,
    Ticket,
    TicketEvent,
)


@admin.register(Status)
class StatusAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "category", "is_default", "position")
    list_editable = ("position",)
    list_filter = ("category", "is_default")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
    ordering = ("name",)


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ("number", "subject", "status", "priority", "requester", "team", "assignee", "updated_at")
    list_filter = ("status_category", "priority", "ticket_type", "channel", "team", "is_flagged")
    search_fields = ("=number", "subject", "=requester__public_id")
    list_select_related = ("status", "requester", "team", "assignee")
    raw_id_fields = ("requester", "organisation", "assignee", "merged_into", "follow_up_of")
    ordering = ("-id",)
    show_full_result_count = False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "ticket", "kind", "author_type", "channel", "is_flagged", "created_at")
    list_filter = ("kind", "author_type", "channel", "is_flagged")
    search_fields = ("=public_id", "=ticket__number")
    list_select_related = ("ticket",)
    raw_id_fields = ("ticket", "author_user", "author_customer")
    ordering = ("-id",)
    show_full_result_count = False


@admin.register(Blob)
class BlobAdmin(ReadOnlyAdmin):
    list_display = ("sha256", "size", "created_at")
    search_fields = ("=sha256",)


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ("filename", "content_type", "message", "is_inline")
    list_filter = ("is_inline",)
    search_fields = ("filename", "=public_id", "=blob__sha256")
    list_select_related = ("message",)
    raw_id_fields = ("message", "blob")
    show_full_result_count = False


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "ticket", "actor", "action", "field")
    list_filter = ("action", "field")
    search_fields = ("=ticket__number", "action")
    list_select_related = ("ticket", "actor")
    raw_id_fields = ("ticket", "actor")
    ordering = ("-id",)
    show_full_result_count = False


@admin.register(SatisfactionRating)
class SatisfactionRatingAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "customer", "score", "updated_at")
    list_filter = ("score",)
    search_fields = ("=ticket__number",)
    list_select_related = ("ticket", "customer")
    raw_id_fields = ("ticket", "customer")
    show_full_result_count = False


@admin.register(CatalogVersion)
class CatalogVersionAdmin(ReadOnlyAdmin):
    """Counted by database triggers (see ``regulars.tickets.versions``); shown, never edited."""

    list_display = ("id", "value")
