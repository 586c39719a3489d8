"""Who may open a ticket in the desk, write on it, and download its files."""

from __future__ import annotations

import pytest
from django.test import Client

from regulars.accounts.models import TicketScope
from regulars.core.testing import Cast
from regulars.desk.tests.alert_data import make_alert
from regulars.desk.tests.workspace_data import agent_client, conversation
from regulars.insights.models import AlertState
from regulars.insights.services import subscribe_to_alerts
from regulars.tickets.attachments import Upload
from regulars.tickets.models import Attachment, Message
from regulars.tickets.services import open_ticket

pytestmark = pytest.mark.django_db


def _desk_urls(cast: Cast) -> list[tuple[str, str]]:
    ticket = conversation(cast)
    attachment = Attachment.objects.filter(message__ticket=ticket).first()
    assert attachment is not None
    n = ticket.number
    c = cast.carol.public_id
    alert = make_alert("export empty", state=AlertState.OPEN)
    subscription, _ = subscribe_to_alerts(actor=cast.bob)
    return [
        ("get", f"/desk/tickets/{n}/"),
        ("get", f"/desk/tickets/{n}/messages/"),
        ("post", f"/desk/tickets/{n}/presence/"),
        ("post", f"/desk/tickets/{n}/reply/"),
        ("post", f"/desk/tickets/{n}/note/"),
        ("post", f"/desk/tickets/{n}/status/"),
        ("post", f"/desk/tickets/{n}/priority/"),
        ("post", f"/desk/tickets/{n}/assignee/"),
        ("post", f"/desk/tickets/{n}/team/"),
        ("post", f"/desk/tickets/{n}/tags/"),
        ("post", f"/desk/tickets/{n}/fields/"),
        ("post", f"/desk/tickets/{n}/escalate/"),
        ("post", f"/desk/tickets/{n}/merge/"),
        ("post", f"/desk/tickets/{n}/category/"),
        ("post", f"/desk/tickets/{n}/not-for-us/"),
        ("get", f"/desk/tickets/{n}/similar/"),
        ("get", f"/desk/attachments/{attachment.public_id}/"),
        ("get", "/desk/customers/"),
        ("get", f"/desk/customers/{c}/"),
        ("post", f"/desk/customers/{c}/notes/"),
        ("post", f"/desk/customers/{c}/merge/"),
        ("post", f"/desk/customers/{c}/block/"),
        ("post", f"/desk/customers/{c}/unblock/"),
        ("get", "/desk/organisations/"),
        ("get", f"/desk/organisations/{cast.acme.public_id}/"),
        ("get", "/desk/alerts/"),
        ("get", f"/desk/alerts/{alert.public_id}/"),
        ("post", f"/desk/alerts/{alert.public_id}/problem/"),
        ("post", "/desk/alerts/subscriptions/"),
        ("post", f"/desk/alerts/subscriptions/{subscription.public_id}/delete/"),
    ]


def test_it_refuses_every_desk_page_to_a_signed_in_customer(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.carol_user)
    for method, url in _desk_urls(cast):
        assert getattr(client, method)(url).status_code == 403, url


def test_it_sends_anonymous_visitors_to_sign_in(cast: Cast) -> None:
    for method, url in _desk_urls(cast):
        response = getattr(Client(), method)(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_it_hides_a_support_ticket_from_an_agent_who_sees_only_billing(cast: Cast) -> None:
    ticket = conversation(cast)
    dave = agent_client(cast.dave)
    assert dave.get(f"/desk/tickets/{ticket.number}/").status_code == 404
    assert dave.get(f"/desk/tickets/{ticket.number}/messages/").status_code == 404
    assert dave.post(f"/desk/tickets/{ticket.number}/reply/", {"reply-body": "hi"}).status_code == 404
    assert not ticket.messages.filter(author_user=cast.dave).exists()
    billing = open_ticket(subject="Refund", body="please", requester=cast.erin, team=cast.billing)
    assert dave.get(f"/desk/tickets/{billing.number}/").status_code == 200


def test_it_shows_a_light_agent_only_the_note_composer_and_refuses_a_posted_reply(cast: Cast) -> None:
    ticket = conversation(cast)
    charlie = agent_client(cast.charlie)
    html = charlie.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Internal note" in html and 'name="note-body"' in html
    assert 'name="reply-body"' not in html and "Send reply" not in html
    assert "Escalate to team" not in html  # nor any control that changes the ticket
    response = charlie.post(f"/desk/tickets/{ticket.number}/reply/", {"reply-body": "Public words"})
    assert response.status_code == 403
    assert not Message.objects.filter(body_text="Public words").exists()
    charlie.post(f"/desk/tickets/{ticket.number}/note/", {"note-body": "Looks like the export bug"})
    note = Message.objects.get(body_text="Looks like the export bug")
    assert note.kind == Message.Kind.NOTE and note.author_user == cast.charlie


def test_it_requires_the_csrf_token_on_every_post(cast: Cast) -> None:
    ticket = conversation(cast)
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.bob)
    response = client.post(f"/desk/tickets/{ticket.number}/reply/", {"reply-body": "No token"})
    assert response.status_code == 403
    assert not Message.objects.filter(body_text="No token").exists()
    response = client.post(f"/desk/customers/{cast.carol.public_id}/block/", {"reason": "No token"})
    assert response.status_code == 403
    cast.carol.refresh_from_db()
    assert not cast.carol.is_blocked


def test_it_serves_no_attachment_of_a_ticket_the_agent_cannot_see(cast: Cast) -> None:
    cast.bob.ticket_scope = TicketScope.TEAMS
    cast.bob.save(update_fields=["ticket_scope"])
    billing = open_ticket(
        subject="Card charged twice", body="see statement", requester=cast.erin, team=cast.billing,
        attachments=[Upload("statement.pdf", "application/pdf", b"%PDF-1.4")],
    )  # fmt: skip
    attachment = Attachment.objects.get(message__ticket=billing)
    assert agent_client(cast.bob).get(f"/desk/attachments/{attachment.public_id}/").status_code == 404
    assert agent_client(cast.dave).get(f"/desk/attachments/{attachment.public_id}/").status_code == 200
    assert agent_client(cast.bob).get("/desk/attachments/att_doesnotexist/").status_code == 404
