"""Sign-in for the desk and the portal: rotation, rate limits, two-factor for admins, CSP."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from regulars.accounts.models import User
from regulars.core.testing import Cast, enrol_totp, totp_code

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, email: str, password: str) -> object:
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_it_serves_the_sign_in_page_under_a_strict_content_security_policy(cast: Cast) -> None:
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert script_src.strip() == "script-src 'self'"
    html = response.content.decode()
    # Every executable script comes from a file; JSON data blocks are not executed.
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "https://" not in html  # no CDN, no external fonts


def test_it_gives_a_new_session_key_on_sign_in(cast: Cast) -> None:
    client = Client()
    client.get("/accounts/login/")
    client.session.save()
    before = client.session.session_key
    response = _sign_in(client, "bob@regulars.test", "bob-password-1")
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert client.session.session_key != before
    assert client.session["_auth_user_id"] == str(cast.bob.pk)


def test_it_refuses_a_wrong_password_without_saying_which_part_was_wrong(cast: Cast) -> None:
    response = _sign_in(Client(), "bob@regulars.test", "wrong-password")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "_auth_user_id" not in Client().session
    assert b"not correct" in response.content  # type: ignore[attr-defined]


def test_it_stops_guessing_after_a_few_failed_sign_ins(cast: Cast) -> None:
    client = Client()
    for _ in range(6):
        _sign_in(client, "bob@regulars.test", "wrong-password")
    # Even the right password is refused while the limit holds, so guessing cannot continue.
    response = _sign_in(client, "bob@regulars.test", "bob-password-1")
    assert response.status_code in (200, 429)  # type: ignore[attr-defined]
    assert "_auth_user_id" not in client.session


def test_it_sends_an_admin_without_two_factor_to_enrolment(cast: Cast) -> None:
    client = Client()
    _sign_in(client, "alice@regulars.test", "alice-password-1")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"


def test_it_asks_an_enrolled_admin_for_a_code_before_letting_them_in(cast: Cast) -> None:
    secret = enrol_totp(cast.alice)
    client = Client()
    response = _sign_in(client, "alice@regulars.test", "alice-password-1")
    assert response["Location"] == "/accounts/2fa/authenticate/"  # type: ignore[index]
    assert "_auth_user_id" not in client.session
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(cast.alice.pk)
    assert client.get("/admin/").status_code == 200


def test_it_signs_a_person_out_of_every_session_at_once(cast: Cast) -> None:
    laptop, phone = Client(), Client()
    _sign_in(laptop, "bob@regulars.test", "bob-password-1")
    _sign_in(phone, "bob@regulars.test", "bob-password-1")
    assert laptop.get("/accounts/sign-out-everywhere/").status_code == 200
    response = laptop.post("/accounts/sign-out-everywhere/")
    assert response.status_code == 302
    # The other device's session is no longer valid: it is sent to sign in.
    response = phone.get("/accounts/sign-out-everywhere/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    from regulars.accounts.models import AuditLog

    assert AuditLog.objects.filter(action="user.signed_out_everywhere", actor=cast.bob).count() == 1


def test_it_lets_nobody_sign_themselves_up(cast: Cast) -> None:
    before = User.objects.count()
    response = Client().post(
        "/accounts/signup/", {"email": "mallory@evil.example", "password1": "a-long-password-1"}
    )
    assert response.status_code in (200, 403)
    assert User.objects.count() == before


def test_it_requires_a_csrf_token_on_sign_in(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    response = _sign_in(client, "bob@regulars.test", "bob-password-1")
    assert response.status_code == 403  # type: ignore[attr-defined]
