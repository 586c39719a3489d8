"""A newcomer asks for help through the portal, confirms by email, follows the ticket and rates it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from regulars.core.browser import screenshot
from regulars.core.testing import Cast
from regulars.tickets.attachments import Upload
from regulars.tickets.models import Channel, SatisfactionRating, StatusCategory, Ticket
from regulars.tickets.services import default_status, open_ticket, post_message, update_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _link(kind: str) -> str:
    pattern = (
        r"(/portal/requests/confirm/[^\s]+/)" if kind == "confirm" else r"(/portal/sign-in/link/[^\s]+/)"
    )
    found = re.search(pattern, str(mail.outbox[-1].body))
    assert found
    return found.group(1)


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_it_takes_a_newcomer_from_request_to_rating(
    cast: Cast, page: Any, live_server: Any, tmp_path: Path
) -> None:
    open_ticket(
        subject="Carol's private matter", body="Only for Carol.", requester=cast.carol, channel=Channel.WEB
    )

    page.goto("/portal/")
    page.get_by_role("link", name="Send a request").click()
    page.get_by_label("Your name").fill("Dana Newcomer")
    page.get_by_label("Email").fill("dana@example.org")
    page.get_by_label("Subject").fill("My parcel never arrived")
    page.get_by_label("Message").fill("Order 1234 was due last week.")
    page.get_by_label("Attach files").set_input_files(
        files=[{"name": "label.txt", "mimeType": "text/plain", "buffer": b"tracking 1Z999"}]
    )
    screenshot(page, "portal-request", tmp_path)
    page.get_by_role("button", name="Send request").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    assert not Ticket.objects.filter(subject="My parcel never arrived").exists()

    page.goto(_link("confirm"))
    page.get_by_role("button", name="Confirm my request").click()
    page.get_by_role("heading", name="My parcel never arrived").wait_for()
    ticket = Ticket.objects.get(subject="My parcel never arrived")
    assert page.get_by_role("link", name="label.txt").count() == 1

    page.get_by_role("link", name="My tickets", exact=True).click()
    page.get_by_role("heading", name="My tickets").wait_for()
    assert page.get_by_role("link", name="My parcel never arrived").count() == 1
    assert page.get_by_text("Carol's private matter").count() == 0

    page.get_by_role("link", name="My parcel never arrived").click()
    post_message(ticket, author=cast.bob, body="Sorry! We are sending a new parcel today.", public=True)
    page.reload()
    page.get_by_label("Your reply").fill("Thank you, that is kind.")
    page.get_by_role("button", name="Send reply").click()
    page.get_by_text("Your reply was added.").wait_for()
    assert page.get_by_text("Thank you, that is kind.").count() == 1

    update_ticket(ticket, actor=cast.bob, status=default_status(StatusCategory.SOLVED))
    page.reload()
    page.get_by_role("group", name="How did we do?").wait_for()
    page.get_by_role("radio", name="5 (excellent)").check()
    page.get_by_label("Comment").fill("Quick and friendly.")
    page.get_by_role("button", name="Send rating").click()
    page.get_by_text("Thank you for rating our service.").wait_for()
    rating = SatisfactionRating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment) == (5, "Quick and friendly.")
    screenshot(page, "portal", tmp_path)


def test_it_fits_a_phone_screen(cast: Cast, phone_page: Any, live_server: Any, tmp_path: Path) -> None:
    page = phone_page
    ticket = open_ticket(
        subject="A rather long subject line that has to wrap on a narrow phone screen without scrolling",
        body="x" * 300,
        requester=cast.carol,
        channel=Channel.WEB,
        attachments=[
            Upload(filename="a-very-long-file-name-" * 4 + ".pdf", content_type="application/pdf", data=b"%")
        ],
    )
    update_ticket(
        ticket, actor=cast.bob, status=default_status(StatusCategory.SOLVED)
    )  # shows the rating form
    for path in ("/portal/", "/portal/requests/new/", "/portal/sign-in/link/"):
        page.goto(path)
        assert _fits(page), path

    page.goto("/portal/sign-in/link/")
    page.get_by_label("Email").fill("carol@acme.example")
    page.get_by_role("button", name="Email me a link").click()
    page.get_by_text("If we know this address").wait_for()
    page.goto(_link("sign-in"))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My tickets").wait_for()
    for path in ("/portal/tickets/", "/portal/preferences/", f"/portal/tickets/{ticket.number}/"):
        page.goto(path)
        assert _fits(page), path
    screenshot(page, "portal-phone", tmp_path)
