"""Customers may sign in by a link sent by email: once, for a short while, and only customers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core import mail, signing
from django.test import Client

from regulars.core.testing import Cast
from regulars.customers.services import block_customer
from regulars.portal import services
from regulars.portal.tests.conftest import link_in_last_mail

pytestmark = pytest.mark.django_db

SAME_ANSWER = b"If we know this address, we sent a sign-in link to it."


Ask = Callable[[Client, str], Any]


@pytest.fixture
def ask(django_capture_on_commit_callbacks: Any) -> Ask:
    def ask(client: Client, email: str) -> Any:
        # The link is mailed by a background handler once the request's transaction commits.
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/portal/sign-in/link/", {"email": email})

    return ask


def test_it_is_offered_beside_the_password_on_the_portal_home_page(cast: Cast) -> None:
    page = Client().get("/portal/").content
    assert b'href="/portal/sign-in/link/"' in page
    assert b'href="/accounts/login/"' in page


def test_it_signs_a_customer_in_once(ask: Ask, cast: Cast) -> None:
    client = Client()
    client.get("/portal/sign-in/link/")
    client.session.save()
    before = client.session.session_key
    assert SAME_ANSWER in ask(client, "carol@acme.example").content  # type: ignore[attr-defined]
    assert mail.outbox[-1].to == ["carol@acme.example"]
    link = link_in_last_mail("sign-in")

    assert client.get(link).status_code == 200  # looking at the link does not use it up
    response = client.post(link)
    assert response.status_code == 302
    assert response["Location"] == "/portal/tickets/"
    assert client.session["_auth_user_id"] == str(cast.carol_user.pk)
    assert client.session.session_key != before  # the session was rotated

    again = Client().post(link)
    assert again.status_code == 410
    assert "_auth_user_id" not in Client().session


def test_it_expires(ask: Ask, cast: Cast) -> None:
    ask(Client(), "carol@acme.example")
    link = link_in_last_mail("sign-in")
    later = signing.TimestampSigner().timestamp()
    with mock.patch("django.core.signing.time.time", return_value=signing.b62_decode(later) + 16 * 60):
        response = Client().post(link)
    assert response.status_code == 410
    assert b"expired or was already used" in response.content


def test_it_answers_the_same_for_unknown_addresses_and_sends_nothing(ask: Ask, cast: Cast) -> None:
    known = ask(Client(), "carol@acme.example")
    unknown = ask(Client(), "nobody@example.org")
    assert known.status_code == unknown.status_code == 200  # type: ignore[attr-defined]
    assert SAME_ANSWER in unknown.content  # type: ignore[attr-defined]
    assert [m.to for m in mail.outbox] == [["carol@acme.example"]]


def test_it_never_sends_a_link_to_an_agent(ask: Ask, cast: Cast) -> None:
    response = ask(Client(), "bob@regulars.test")
    assert SAME_ANSWER in response.content  # type: ignore[attr-defined]
    assert mail.outbox == []
    # Nor does a link made for an agent by other means work.
    token = services.signing.dumps(
        {"u": cast.bob.public_id, "s": services._state(cast.bob)}, salt=services.SIGN_IN_SALT
    )
    assert Client().post(f"/portal/sign-in/link/{token}/").status_code == 410


def test_it_never_sends_a_link_to_a_blocked_customer(ask: Ask, cast: Cast) -> None:
    block_customer(cast.carol, reason="abusive")
    ask(Client(), "carol@acme.example")
    assert mail.outbox == []


def test_it_stops_working_when_the_password_changes(ask: Ask, cast: Cast) -> None:
    ask(Client(), "carol@acme.example")
    link = link_in_last_mail("sign-in")
    cast.carol_user.set_password("a-new-password-2")
    cast.carol_user.save(update_fields=["password"])
    assert Client().post(link).status_code == 410


def test_it_rate_limits_links_per_address_without_saying_so(ask: Ask, cast: Cast, settings: object) -> None:
    settings.PORTAL_RATE_LIMITS = {"sign_in_link_address": (2, 900)}  # type: ignore[attr-defined]
    for _ in range(4):
        response = ask(Client(REMOTE_ADDR="203.0.113.9"), "carol@acme.example")
        assert SAME_ANSWER in response.content  # type: ignore[attr-defined]
    assert len(mail.outbox) == 2


def test_it_rate_limits_links_per_client(ask: Ask, cast: Cast, settings: object) -> None:
    settings.PORTAL_RATE_LIMITS = {"sign_in_link_client": (3, 3600)}  # type: ignore[attr-defined]
    client = Client()
    for i in range(3):
        assert ask(client, f"guess{i}@example.org").status_code == 200  # type: ignore[attr-defined]
    refused = ask(client, "carol@acme.example")
    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert b"Too many sign-in links" in refused.content  # type: ignore[attr-defined]
    assert mail.outbox == []


def test_it_answers_a_malformed_address_with_a_form_error(ask: Ask, cast: Cast) -> None:
    response = ask(Client(), "not an address")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert b"Enter a valid email address" in response.content  # type: ignore[attr-defined]


def test_it_keeps_a_link_short_lived() -> None:
    assert timedelta(seconds=services.SIGN_IN_LINK_MAX_AGE) <= timedelta(minutes=15)
