"""Customers choose how we contact them and how much personal contact they want; agents see it."""

from __future__ import annotations

import pytest
from django.test import Client

from regulars.accounts.models import AuditLog
from regulars.core.testing import Cast
from regulars.customers.models import ContactChannel, Customer, PersonalContact
from regulars.customers.services import create_plan, update_customer

pytestmark = pytest.mark.django_db


def _save(client: Client, **data: str) -> object:
    form = {"preferred_contact": "email", "callback_phone": "", "personal_contact": "self_service", **data}
    return client.post("/portal/preferences/", form)


def test_it_saves_and_audits_a_call_back_preference(cast: Cast, carol: Client) -> None:
    response = _save(carol, preferred_contact="phone", callback_phone="+44 20 7946 0000")
    assert response.status_code == 302  # type: ignore[attr-defined]
    carol_row = Customer.objects.get(pk=cast.carol.pk)
    assert carol_row.preferred_contact == ContactChannel.PHONE
    assert carol_row.callback_phone == "+442079460000"
    audit = AuditLog.objects.get(action="customer.preferences_updated")
    assert audit.actor == cast.carol_user and audit.object_id == cast.carol.public_id
    assert audit.data["changes"]["preferred_contact"] == ["email", "phone"]
    page = carol.get("/portal/preferences/").content.decode()
    assert 'value="phone" checked' in page


def test_it_needs_a_number_for_a_call_back(cast: Cast, carol: Client) -> None:
    response = _save(carol, preferred_contact="phone")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert b"A call-back needs a phone number." in response.content  # type: ignore[attr-defined]
    assert Customer.objects.get(pk=cast.carol.pk).preferred_contact == ContactChannel.EMAIL


def test_it_answers_a_bad_phone_number_with_a_form_error(cast: Cast, carol: Client) -> None:
    response = _save(carol, preferred_contact="phone", callback_phone="call me")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert b"is not a phone number" in response.content  # type: ignore[attr-defined]


def test_it_shows_chat_but_does_not_accept_it_yet(cast: Cast, carol: Client) -> None:
    page = carol.get("/portal/preferences/").content.decode()
    assert 'value="chat" disabled' in page
    response = _save(carol, preferred_contact="chat")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert Customer.objects.get(pk=cast.carol.pk).preferred_contact == ContactChannel.EMAIL


def test_it_offers_a_named_person_only_where_the_plan_includes_one(cast: Cast, carol: Client) -> None:
    assert 'value="named_person" disabled' in carol.get("/portal/preferences/").content.decode()
    refused = _save(carol, personal_contact="named_person")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert b"does not include a named person" in refused.content  # type: ignore[attr-defined]

    update_customer(cast.carol, plan=create_plan(name="Premium", slug="premium", named_contact=True))
    assert 'value="named_person" disabled' not in carol.get("/portal/preferences/").content.decode()
    assert _save(carol, personal_contact="named_person").status_code == 302  # type: ignore[attr-defined]
    assert Customer.objects.get(pk=cast.carol.pk).personal_contact == PersonalContact.NAMED_PERSON


def test_it_shows_the_preferences_to_agents_in_the_api(cast: Cast, carol: Client) -> None:
    from regulars.accounts.services import create_api_token

    _save(carol, preferred_contact="phone", callback_phone="020 7946 0000")
    _, secret = create_api_token(cast.bob, name="test")
    response = Client().get(
        f"/api/v1/customers/{cast.carol.public_id}", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["preferred_contact"], body["callback_phone"], body["personal_contact"]) == (
        "phone", "02079460000", "self_service",
    )  # fmt: skip


def test_it_audits_nothing_when_nothing_changes(cast: Cast, carol: Client) -> None:
    _save(carol)
    assert not AuditLog.objects.filter(action="customer.preferences_updated").exists()
