"""Bad or hostile input gets a readable answer (a form error or a 4xx page), never a 500."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from regulars.core.testing import Cast
from regulars.portal.models import PortalRequest
from regulars.tickets.models import Ticket

pytestmark = pytest.mark.django_db

GOOD = {"name": "Dana", "email": "dana@example.org", "subject": "Help", "body": "Please."}


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/portal/requests/new/", GOOD),
        ("/portal/sign-in/link/", {"email": "carol@acme.example"}),
        ("/portal/preferences/", {"preferred_contact": "email", "personal_contact": "self_service"}),
    ],
)
def test_it_enforces_csrf_on_every_form(cast: Cast, path: str, data: dict[str, str]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.carol_user) if path == "/portal/preferences/" else None
    assert client.post(path, data).status_code == 403


def test_it_enforces_csrf_on_replies_and_ratings(cast: Cast, carol_ticket: Ticket) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.carol_user)
    assert client.post(f"/portal/tickets/{carol_ticket.number}/reply/", {"body": "x"}).status_code == 403
    assert client.post(f"/portal/tickets/{carol_ticket.number}/solved/").status_code == 403
    assert client.post(f"/portal/tickets/{carol_ticket.number}/rating/", {"score": "5"}).status_code == 403
    assert carol_ticket.messages.count() == 1


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"subject": "   "}, b"Please give your request a subject."),
        ({"body": " \n "}, b"Please describe what you need."),
        ({"email": "not-an-address"}, b"Enter a valid email address."),
        ({"name": "x" * 500}, b"Ensure this value has at most 200 characters"),
        ({"subject": "s" * 300}, b"Ensure this value has at most 250 characters"),
        ({"body": "null\x00byte"}, b"Null characters are not allowed."),
    ],
)
def test_it_answers_a_bad_request_form_with_a_form_error(
    cast: Cast, change: dict[str, str], error: bytes
) -> None:
    response = Client().post("/portal/requests/new/", {**GOOD, **change})
    assert response.status_code == 422
    assert error in response.content
    assert b'role="alert"' in response.content
    assert not PortalRequest.objects.exists()


def test_it_refuses_a_file_over_the_size_limit(cast: Cast, settings: object) -> None:
    settings.ATTACHMENT_MAX_BYTES = 10  # type: ignore[attr-defined]
    big = SimpleUploadedFile("big.bin", b"x" * 11, "application/octet-stream")
    response = Client().post("/portal/requests/new/", {**GOOD, "attachments": big})
    assert response.status_code == 422
    assert b"big.bin is too large" in response.content
    assert not PortalRequest.objects.exists()


def test_it_refuses_too_many_files(carol: Client) -> None:
    files = [SimpleUploadedFile(f"f{i}.txt", b"x", "text/plain") for i in range(11)]
    response = carol.post("/portal/requests/new/", {"subject": "Files", "body": "Many", "attachments": files})
    assert response.status_code == 422
    assert b"Attach at most 10 files." in response.content


def test_it_answers_an_empty_reply_with_a_form_error(carol: Client, carol_ticket: Ticket) -> None:
    response = carol.post(f"/portal/tickets/{carol_ticket.number}/reply/", {"body": "   "})
    assert response.status_code == 422
    assert b"Please write a reply." in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/portal/tickets/99999999999999999999999/",
        "/portal/tickets/424242/",
        "/portal/attachments/att_nothing/",
        "/portal/attachments/%00/",
    ],
)
def test_it_answers_unknown_things_with_404(carol: Client, path: str) -> None:
    assert carol.get(path).status_code == 404


@pytest.mark.parametrize("token", ["x", "a" * 2000, "%F0%9F%92%A9", "..%2F..%2Fetc"])
def test_it_answers_odd_link_tokens_with_a_readable_page(cast: Cast, token: str) -> None:
    for path in (f"/portal/sign-in/link/{token}/", f"/portal/requests/confirm/{token}/"):
        response = Client().post(path)
        assert response.status_code in (404, 410), path


def test_it_refuses_other_methods(carol: Client, carol_ticket: Ticket) -> None:
    assert carol.get(f"/portal/tickets/{carol_ticket.number}/reply/").status_code == 405
    assert carol.delete("/portal/preferences/").status_code == 405
