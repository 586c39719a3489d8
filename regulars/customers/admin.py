"""Django admin for customers, organisations, identities and plans.

Plans are back-office data edited here. Customers, organisations and identities change through
the services (identity normalisation, merges, blocking, audit), so here they are read-only.
"""

from __future__ import annotations

from django.contrib import admin

from regulars.core.admin import ReadOnlyAdmin
from regulars.customers.models import Customer, Identity, Organisation, SupportPlan


@admin.register(SupportPlan)
class SupportPlanAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "named_contact", "organisation_wide_visibility", "position")
    list_filter = ("named_contact", "organisation_wide_visibility")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("public_id",)
    ordering = ("position", "name")


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin):
    list_display = ("name", "domain", "plan", "owner", "created_at")
    list_filter = ("plan",)
    search_fields = ("name", "domain", "public_id")
    list_select_related = ("plan", "owner")
    raw_id_fields = ("owner", "backup_owner")


class IdentityInline(admin.TabularInline):
    model = Identity
    fields = ("kind", "value", "is_primary", "verified")
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("name", "public_id", "organisation", "plan", "owner", "is_blocked", "created_at")
    list_filter = ("is_blocked", "plan", "language", "preferred_contact", "personal_contact")
    search_fields = ("name", "=public_id", "identities__value", "organisation__name")
    list_select_related = ("organisation", "plan", "owner")
    raw_id_fields = ("organisation", "owner", "backup_owner", "user", "merged_into")
    inlines = (IdentityInline,)
    show_full_result_count = False


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ("value", "kind", "customer", "is_primary", "verified")
    list_filter = ("kind", "is_primary", "verified")
    search_fields = ("value", "=customer__public_id")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    show_full_result_count = False
