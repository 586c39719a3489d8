"""Every portal page works under the strict CSP: no inline script or style, nothing external, and
every form control has a label."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from regulars.core.testing import Cast
from regulars.tickets.models import StatusCategory, Ticket
from regulars.tickets.services import default_status, update_ticket

pytestmark = pytest.mark.django_db


def _check(html: str) -> None:
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    assert "https://" not in html and "http://" not in html
    ids = set(re.findall(r'<label[^>]*\sfor="([^"]+)"', html))
    for control in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
        if re.search(r'type="(?:hidden|submit)"', control):
            continue
        found = re.search(r'\sid="([^"]+)"', control)
        assert found and found.group(1) in ids, control


def test_it_serves_the_public_pages_cleanly(cast: Cast) -> None:
    client = Client()
    for path in ("/portal/", "/portal/requests/new/", "/portal/sign-in/link/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response["Content-Security-Policy"]
        _check(response.content.decode())


def test_it_serves_the_customer_pages_cleanly(cast: Cast, carol: Client, carol_ticket: Ticket) -> None:
    update_ticket(carol_ticket, actor=cast.bob, status=default_status(StatusCategory.SOLVED))
    for path in ("/portal/tickets/", f"/portal/tickets/{carol_ticket.number}/", "/portal/preferences/",
                 "/portal/requests/new/"):  # fmt: skip
        response = carol.get(path)
        assert response.status_code == 200, path
        _check(response.content.decode())
