"""The Django admin: every model has a working page, for admins only; history stays read-only."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from regulars.accounts.models import ApiToken, AuditLog, Role, User
from regulars.accounts.services import create_api_token
from regulars.core.testing import Cast, enrol_totp
from regulars.tickets.models import Ticket, TicketEvent
from regulars.tickets.services import open_ticket

OUR_APPS = {"core", "accounts", "customers", "tickets"}


def our_models() -> list[type[Model]]:
    return [m for m in admin.site._registry if m._meta.app_label in OUR_APPS]


def changelist(model: type[Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.fixture
def with_data(cast: Cast) -> Cast:
    open_ticket(subject="Printer on fire", body="Send help", requester=cast.carol, actor=cast.bob)
    create_api_token(cast.bob, name="script")
    enrol_totp(cast.alice)  # admins cannot use the admin before enrolling two-factor
    return cast


def test_it_registers_every_model_of_our_apps() -> None:
    from django.apps import apps

    expected = {m for m in apps.get_models() if m._meta.app_label in OUR_APPS}
    assert expected - set(our_models()) == set()


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m._meta.label)
def test_it_loads_each_changelist_for_an_admin(client: Client, with_data: Cast, model: type[Model]) -> None:
    client.force_login(with_data.alice)
    assert client.get(changelist(model)).status_code == 200
    obj = model._default_manager.first()
    if obj is not None:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("model", [User, Ticket, AuditLog], ids=lambda m: m._meta.label)
def test_it_refuses_the_admin_to_an_agent_who_is_not_an_admin(
    client: Client, with_data: Cast, model: type[Model]
) -> None:
    client.force_login(with_data.bob)
    response = client.get(changelist(model))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_it_keeps_audit_log_and_ticket_history_read_only(client: Client, with_data: Cast) -> None:
    client.force_login(with_data.alice)
    event = TicketEvent.objects.first()
    assert event is not None
    change_url = reverse("admin:tickets_ticketevent_change", args=[event.pk])

    assert client.get(reverse("admin:tickets_ticketevent_add")).status_code == 403
    assert client.get(reverse("admin:accounts_auditlog_add")).status_code == 403
    assert client.post(change_url, {"action": "edited"}).status_code == 403
    assert client.get(reverse("admin:tickets_ticketevent_delete", args=[event.pk])).status_code == 403


def test_it_adds_an_agent_through_the_service_with_an_audit_row(client: Client, with_data: Cast) -> None:
    client.force_login(with_data.alice)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "Frank@Regulars.test",
            "name": "Frank",
            "role": Role.LIGHT_AGENT,
            "usable_password": "true",
            "password1": "frank-password-1",
            "password2": "frank-password-1",
        },
    )
    assert response.status_code == 302, response.content
    frank = User.objects.get(email="frank@regulars.test")
    assert frank.role == Role.LIGHT_AGENT
    assert frank.check_password("frank-password-1")
    assert AuditLog.objects.filter(
        action="agent.created", object_id=frank.public_id, actor=with_data.alice
    ).exists()


def test_it_changes_an_agents_role_and_teams(client: Client, with_data: Cast) -> None:
    client.force_login(with_data.alice)
    bob = with_data.bob
    response = client.post(
        reverse("admin:accounts_user_change", args=[bob.pk]),
        {
            "email": bob.email,
            "name": bob.name,
            "role": Role.ADMIN,
            "ticket_scope": "all",
            "time_zone": "UTC",
            "is_active": "on",
            "teams": [with_data.billing.pk],
        },
    )
    assert response.status_code == 302, response.content
    bob.refresh_from_db()
    assert bob.role == Role.ADMIN
    assert bob.is_superuser
    assert list(bob.teams.all()) == [with_data.billing]
    assert AuditLog.objects.filter(action="agent.updated", object_id=bob.public_id).exists()


def test_it_offers_the_password_change_form(client: Client, with_data: Cast) -> None:
    client.force_login(with_data.alice)
    url = reverse("admin:auth_user_password_change", args=[with_data.bob.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"usable_password": "true", "password1": "new-bob-password-1", "password2": "new-bob-password-1"}
    )
    assert response.status_code == 302
    with_data.bob.refresh_from_db()
    assert with_data.bob.check_password("new-bob-password-1")


def test_it_revokes_tokens_with_an_admin_action(client: Client, with_data: Cast) -> None:
    client.force_login(with_data.alice)
    token = ApiToken.objects.get()
    response = client.post(changelist(ApiToken), {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditLog.objects.filter(action="token.revoked", actor=with_data.alice).exists()
