"""Django admin for agents, teams, API tokens and the audit log.

Agents are created through ``create_agent`` (audit row included); tokens are created by
``regulars token create`` or the API, where the secret can be shown once, and only revoked here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.db.models import Count, Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from regulars.accounts.models import AGENT_ROLES, ApiToken, AuditLog, Role, Team, User
from regulars.accounts.services import create_agent, record_audit, revoke_api_token
from regulars.core.admin import ReadOnlyAdmin

# Roles decide what people may do; Django's groups would be a second, conflicting system.
admin.site.unregister(Group)

AGENT_ROLE_CHOICES = [(value, label) for value, label in Role.choices if value in AGENT_ROLES]


class AgentCreationForm(AdminUserCreationForm):
    """Adds agents only: customers get their login from the portal sign-up."""

    role = forms.ChoiceField(choices=AGENT_ROLE_CHOICES, initial=Role.AGENT)

    class Meta:
        model = User
        fields = ("email", "name", "role")


class UserEditForm(UserChangeForm):
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        widget=FilteredSelectMultiple("teams", is_stacked=False),
    )

    class Meta:
        model = User
        fields = ("email", "name", "role", "ticket_scope", "time_zone", "is_active", "password")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["teams"].initial = list(self.instance.teams.all())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("teams") and cleaned.get("role") not in AGENT_ROLES:
            raise forms.ValidationError("Only agents can be team members.")
        return cleaned


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = AgentCreationForm
    list_display = ("email", "name", "role", "ticket_scope", "is_active", "last_login")
    list_filter = ("role", "ticket_scope", "is_active", "teams")
    search_fields = ("email", "name", "public_id")
    ordering = ("email",)
    filter_horizontal = ()
    readonly_fields = ("public_id", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("public_id", "email", "password")}),
        ("Person", {"fields": ("name", "time_zone")}),
        ("Access", {"fields": ("role", "ticket_scope", "teams", "is_active")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "role", "usable_password", "password1", "password2"),
            },
        ),
    )

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm[User], change: bool) -> None:
        assert isinstance(request.user, User)
        if not change:
            created = create_agent(
                email=form.cleaned_data["email"],
                name=form.cleaned_data.get("name", ""),
                role=form.cleaned_data["role"],
                password=None,
                actor=request.user,
            )
            # The form already hashed the password (or marked it unusable) on ``obj``; copy the
            # hash rather than let the plain text travel any further.
            created.password = obj.password
            created.save(update_fields=["password"])
            obj.pk = created.pk
            obj.public_id = created.public_id
            obj._state.adding = False
            return
        # Admins are superusers so the admin's permission checks follow the role.
        obj.is_superuser = obj.role == Role.ADMIN
        super().save_model(request, obj, form, change)
        changed = [f for f in form.changed_data if f not in {"password", "teams"}]
        if changed:
            record_audit(
                request.user,
                "agent.updated",
                "agent",
                obj.public_id,
                fields=sorted(changed),
                via="admin",
            )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if change and "teams" in form.changed_data:
            user = form.instance
            user.teams.set(form.cleaned_data["teams"])
            record_audit(
                request.user if isinstance(request.user, User) else None,
                "agent.teams_set",
                "agent",
                user.public_id,
                teams=[t.name for t in form.cleaned_data["teams"]],
                via="admin",
            )

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # deactivate instead: their tickets, messages and audit rows point at them


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "member_count", "updated_at")
    search_fields = ("name", "public_id")
    filter_horizontal = ("members",)
    readonly_fields = ("public_id",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(member_total=Count("members"))

    @admin.display(description="members", ordering="member_total")
    def member_count(self, team: Team) -> int:
        return int(getattr(team, "member_total", 0))

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "members":
            kwargs["queryset"] = User.objects.filter(role__in=AGENT_ROLES).order_by("email")
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = (
        "prefix",
        "name",
        "user",
        "scopes",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("prefix", "name", "user__email")
    list_select_related = ("user",)
    exclude = ("secret_hash",)
    actions = ("revoke",)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return isinstance(request.user, User) and request.user.is_admin

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        actor = request.user if isinstance(request.user, User) else None
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            revoke_api_token(token, actor=actor)
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "action", "object_type", "object_id")
    list_filter = ("object_type", "action")
    search_fields = ("=object_id", "action", "actor__email")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
