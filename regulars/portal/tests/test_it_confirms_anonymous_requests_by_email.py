"""Someone not signed in confirms their address by email before any ticket exists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from regulars.accounts.models import Role, User
from regulars.core.testing import Cast
from regulars.customers.models import Customer
from regulars.portal.models import PortalRequest, PortalRequestFile
from regulars.portal.services import purge_expired_requests
from regulars.portal.tests.conftest import link_in_last_mail
from regulars.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _send(client: Client, email: str = "dana@example.org", **extra: object) -> object:
    data = {
        "name": "Dana Newcomer",
        "email": email,
        "subject": "My parcel never arrived",
        "body": "Order 1234 was due last week.",
        **extra,
    }
    return client.post("/portal/requests/new/", data)


def test_it_creates_no_ticket_until_the_link_is_opened(cast: Cast) -> None:
    tickets_before = Ticket.objects.count()
    client = Client()
    response = _send(client, attachments=SimpleUploadedFile("photo.png", b"\x89PNG parcel", "image/png"))
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert response["Location"] == "/portal/requests/sent/"  # type: ignore[index]
    assert b"Check your email" in client.get("/portal/requests/sent/").content
    # Stored before it was acknowledged, files included, and only one mail went out.
    pending = PortalRequest.objects.get()
    assert pending.email == "dana@example.org" and pending.confirmed_at is None
    assert PortalRequestFile.objects.filter(request=pending).count() == 1
    assert Ticket.objects.count() == tickets_before
    assert not Customer.objects.filter(identities__value="dana@example.org").exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dana@example.org"]
    # The mail carries nothing the sender typed, so the form cannot relay a message.
    assert "parcel" not in mail.outbox[0].body and "Dana" not in mail.outbox[0].body

    link = link_in_last_mail("confirm")
    assert client.get(link).status_code == 200  # a mail scanner following the link changes nothing
    assert Ticket.objects.count() == tickets_before
    response = client.post(link)

    ticket = Ticket.objects.get(subject="My parcel never arrived")
    assert ticket.channel == "web"
    assert ticket.requester.identities.get().value == "dana@example.org"
    assert ticket.requester.name == "Dana Newcomer"
    assert ticket.messages.get().attachments.get().filename == "photo.png"
    assert not PortalRequestFile.objects.exists()
    # A portal login is made for the new customer and they are signed in to follow the ticket.
    user = User.objects.get(email="dana@example.org")
    assert user.role == Role.CUSTOMER and not user.has_usable_password()
    assert ticket.requester.user == user
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert response["Location"] == f"/portal/tickets/{ticket.number}/"  # type: ignore[index]
    assert client.session["_auth_user_id"] == str(user.pk)
    assert b"My parcel never arrived" in client.get("/portal/tickets/").content


def test_it_works_only_once(cast: Cast) -> None:
    client = Client()
    _send(client)
    link = link_in_last_mail("confirm")
    client.post(link)
    again = Client().post(link)
    assert again.status_code == 410
    assert b"expired or was already used" in again.content
    assert Ticket.objects.filter(subject="My parcel never arrived").count() == 1


def test_it_expires(cast: Cast) -> None:
    _send(Client())
    link = link_in_last_mail("confirm")
    PortalRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(link).status_code == 410
    assert Client().post(link).status_code == 410
    assert not Ticket.objects.filter(subject="My parcel never arrived").exists()


def test_it_refuses_a_made_up_link(cast: Cast) -> None:
    assert Client().post("/portal/requests/confirm/not-a-real-token/").status_code == 410


def test_it_purges_expired_requests_and_only_those(cast: Cast) -> None:
    _send(Client(), email="old@example.org", attachments=SimpleUploadedFile("a.txt", b"old", "text/plain"))
    _send(Client(), email="new@example.org")
    PortalRequest.objects.filter(email="old@example.org").update(
        expires_at=timezone.now() - timedelta(hours=1)
    )
    assert purge_expired_requests(timezone.now()) == 1
    assert list(PortalRequest.objects.values_list("email", flat=True)) == ["new@example.org"]
    assert not PortalRequestFile.objects.exists()
    assert purge_expired_requests(timezone.now()) == 0  # safe to run twice


def test_it_registers_the_purge_as_a_periodic_job() -> None:
    from regulars.core.scheduling import registered_jobs

    assert "portal.purge_expired_requests" in {job.name for job in registered_jobs()}


def test_it_opens_the_ticket_for_a_known_customer_and_signs_in_their_own_login(cast: Cast) -> None:
    client = Client()
    _send(client, email="Carol@Acme.example")
    response = client.post(link_in_last_mail("confirm"))
    ticket = Ticket.objects.get(subject="My parcel never arrived")
    assert ticket.requester == cast.carol
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert client.session["_auth_user_id"] == str(cast.carol_user.pk)


def test_it_never_signs_in_with_an_address_that_is_not_the_logins_own(cast: Cast) -> None:
    from regulars.customers.services import add_identity

    # An agent once added an address to Carol's record; whoever reads it is not thereby Carol.
    add_identity(cast.carol, "email", "shared-desk@acme.example")
    client = Client()
    _send(client, email="shared-desk@acme.example")
    response = client.post(link_in_last_mail("confirm"))
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert b"get a sign-in link by email" in response.content  # type: ignore[attr-defined]
    assert "_auth_user_id" not in client.session
    assert Ticket.objects.get(subject="My parcel never arrived").requester == cast.carol


def test_it_never_gives_an_agents_address_a_customer_login(cast: Cast) -> None:
    client = Client()
    _send(client, email="bob@regulars.test")
    client.post(link_in_last_mail("confirm"))
    assert "_auth_user_id" not in client.session
    assert User.objects.get(email="bob@regulars.test").role == Role.AGENT
    assert Ticket.objects.filter(subject="My parcel never arrived").exists()


def test_it_opens_a_signed_in_customers_request_at_once(carol: Client, cast: Cast) -> None:
    response = carol.post(
        "/portal/requests/new/",
        {
            "subject": "Add a user",
            "body": "Please add Dan.",
            "attachments": SimpleUploadedFile("list.csv", b"dan", "text/csv"),
        },
    )
    ticket = Ticket.objects.get(subject="Add a user")
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert response["Location"] == f"/portal/tickets/{ticket.number}/"  # type: ignore[index]
    assert ticket.requester == cast.carol and ticket.channel == "web"
    assert ticket.messages.get().attachments.get().filename == "list.csv"
    assert not mail.outbox or all("confirm" not in m.subject.lower() for m in mail.outbox)
    assert not PortalRequest.objects.exists()


def test_it_rate_limits_requests_per_address(cast: Cast, settings: object) -> None:
    settings.PORTAL_RATE_LIMITS = {"request_address": (2, 3600)}  # type: ignore[attr-defined]
    for _ in range(2):
        assert _send(Client()).status_code == 302  # type: ignore[attr-defined]
    refused = _send(Client())
    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert b"Too many requests" in refused.content  # type: ignore[attr-defined]
    assert PortalRequest.objects.count() == 2 and len(mail.outbox) == 2
    assert _send(Client(), email="someone-else@example.org").status_code == 302  # type: ignore[attr-defined]


def test_it_rate_limits_requests_per_client(cast: Cast, settings: object) -> None:
    settings.PORTAL_RATE_LIMITS = {"request_client": (3, 3600)}  # type: ignore[attr-defined]
    client = Client()
    for i in range(3):
        assert _send(client, email=f"person{i}@example.org").status_code == 302  # type: ignore[attr-defined]
    refused = _send(client, email="person9@example.org")
    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert len(mail.outbox) == 3
    other_client = Client(REMOTE_ADDR="198.51.100.7")
    assert _send(other_client, email="person9@example.org").status_code == 302  # type: ignore[attr-defined]


def test_it_keeps_the_request_and_says_so_when_the_mail_cannot_be_sent(cast: Cast) -> None:
    from unittest import mock

    client = Client()
    with mock.patch("regulars.portal.services.send_mail", side_effect=OSError("relay down")):
        response = _send(client)
    assert response.status_code == 302  # type: ignore[attr-defined]
    page = client.get("/portal/requests/sent/")
    assert b"could not send the confirmation email" in page.content
    assert PortalRequest.objects.filter(email="dana@example.org").exists()
