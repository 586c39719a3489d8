"""The ticket workspace: every message with its channel, safe HTML, files, and the customer."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regulars.core.testing import Cast
from regulars.desk.tests.workspace_data import agent_client, conversation, give_carol_context
from regulars.tickets.models import Attachment
from regulars.tickets.services import open_ticket, post_message

pytestmark = pytest.mark.django_db


def test_it_shows_replies_notes_and_events_with_their_channel(cast: Cast) -> None:
    ticket = conversation(cast, replies=2)
    html = agent_client(cast.bob).get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "The CSV export of my invoices has no rows since Monday." in html
    assert "Here it is (1)" in html and "Could you send a screenshot? (1)" in html
    assert "Same as the export bug in #1001" in html and "Internal note" in html
    assert "Delivery report: the reply reached acme.example." in html and "System event" in html
    assert "via Email" in html


def test_it_links_every_attachment_to_the_permission_checked_download(cast: Cast) -> None:
    ticket = conversation(cast, replies=1)
    client = agent_client(cast.bob)
    html = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    for attachment in Attachment.objects.filter(message__ticket=ticket):
        assert f"/desk/attachments/{attachment.public_id}/" in html
        assert attachment.filename in html
    screen = Attachment.objects.get(filename="screen-0.png")
    response = client.get(f"/desk/attachments/{screen.public_id}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == b"png 0"  # type: ignore[attr-defined]


def test_it_renders_message_html_without_running_anything_in_it(cast: Cast) -> None:
    ticket = open_ticket(
        subject="Hostile", body="", body_html='<p>Hi <b>there</b><script>alert(1)</script>'
        '<img src=x onerror="alert(2)"></p>', requester=cast.carol,
    )  # fmt: skip
    html = agent_client(cast.bob).get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Hi <b>there</b>" in html
    assert "alert(1)" not in html and "onerror" not in html


def test_it_shows_the_customer_panel_beside_the_conversation(cast: Cast) -> None:
    give_carol_context(cast)
    earlier = open_ticket(subject="Password reset loop", body="again", requester=cast.carol)
    ticket = conversation(cast)
    html = agent_client(cast.bob).get(f"/desk/tickets/{ticket.number}/").content.decode()
    panel = html[html.index('aria-labelledby="customer-title"') :]
    assert "Carol Customer" in panel and "Acme" in panel and "Business" in panel
    assert "12,500.50" in panel
    assert "carol@acme.example" in panel and "+442079460000" in panel
    assert "Bob Agent" in panel and "Dave Billing" in panel  # account owner and backup
    assert "Prefers phone calls in the morning." in panel
    assert f"#{earlier.number} Password reset loop" in panel
    assert "they wrote via Email" in panel and "we answered via Email" in panel


def test_it_shows_how_the_customer_wants_to_be_contacted(cast: Cast) -> None:
    from regulars.customers.services import update_contact_preferences

    update_contact_preferences(
        cast.carol,
        preferred_contact="phone",
        callback_phone="+44 20 7946 0001",
        personal_contact="self_service",
    )
    ticket = open_ticket(subject="Call me", body="Please ring", requester=cast.carol)
    html = agent_client(cast.bob).get(f"/desk/tickets/{ticket.number}/").content.decode()
    panel = html[html.index('aria-labelledby="customer-title"') :]
    assert "Phone call-back (+442079460001)" in panel
    assert "Self-service first" in panel


def test_it_reads_the_ticket_page_in_the_same_number_of_queries_for_3_or_30_messages(cast: Cast) -> None:
    small = conversation(cast, replies=1, subject="Small")  # 3 public messages, each with a file
    large = conversation(cast, replies=15, subject="Large")  # 31 public messages, each with a file
    client = agent_client(cast.bob)
    client.get(f"/desk/tickets/{small.number}/")  # session and caches warm
    counts = []
    for ticket in (small, large):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/desk/tickets/{ticket.number}/")
        assert response.status_code == 200
        counts.append(len(queries))
    assert Attachment.objects.filter(message__ticket=large).count() >= 30
    assert counts[0] == counts[1], counts


def test_it_sends_only_the_messages_after_the_last_one_the_page_has(cast: Cast) -> None:
    ticket = conversation(cast)
    client = agent_client(cast.bob)
    last = ticket.messages.order_by("id").last()
    assert last is not None
    assert client.get(f"/desk/tickets/{ticket.number}/messages/?after={last.public_id}").status_code == 204
    post_message(ticket, author=cast.carol_user, body="Any news on this?", public=True)
    response = client.get(f"/desk/tickets/{ticket.number}/messages/?after={last.public_id}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Any news on this?" in html and "Delivery report" not in html
    newest = ticket.messages.order_by("id").last()
    assert newest is not None and f"after={newest.public_id}" in html  # the poll moves on
