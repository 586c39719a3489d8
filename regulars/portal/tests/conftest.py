from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from regulars.core.testing import Cast
from regulars.tickets.attachments import Upload
from regulars.tickets.models import Channel, Ticket
from regulars.tickets.services import open_ticket

CUSTOMER_PASSWORD = "customer-password-1"  # as regulars.core.testing.customer_login sets it


def signed_in(email: str, password: str = CUSTOMER_PASSWORD) -> Client:
    client = Client()
    assert client.login(email=email, password=password)
    return client


def link_in_last_mail(kind: str) -> str:
    """The path of the portal link (``sign-in`` or ``confirm``) in the newest mail."""
    assert mail.outbox, "no mail was sent"
    pattern = (
        r"https?://[^/\s]+(/portal/sign-in/link/[^\s]+/)"
        if kind == "sign-in"
        else r"https?://[^/\s]+(/portal/requests/confirm/[^\s]+/)"
    )
    found = re.search(pattern, str(mail.outbox[-1].body))
    assert found, mail.outbox[-1].body
    return found.group(1)


@pytest.fixture
def carol_ticket(cast: Cast) -> Ticket:
    return open_ticket(
        subject="The invoice total is wrong",
        body="Please check invoice 42.",
        requester=cast.carol,
        channel=Channel.WEB,
        attachments=[Upload(filename="invoice.pdf", content_type="application/pdf", data=b"%PDF-1.4 carol")],
    )


@pytest.fixture
def carol(cast: Cast) -> Client:
    return signed_in("carol@acme.example")


@pytest.fixture
def erin(cast: Cast) -> Client:
    return signed_in("erin@globex.example")
