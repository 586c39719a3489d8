"""Collision warnings: who else has the ticket open, and who is typing on it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from regulars.core.testing import Cast
from regulars.desk.models import TicketPresence
from regulars.desk.services_presence import note_presence
from regulars.desk.tests.workspace_data import agent_client, conversation

pytestmark = pytest.mark.django_db


def test_it_names_the_other_agent_viewing_the_ticket_but_not_yourself(cast: Cast) -> None:
    ticket = conversation(cast)
    bob, charlie = agent_client(cast.bob), agent_client(cast.charlie)
    url = f"/desk/tickets/{ticket.number}/presence/"
    assert "is viewing" not in bob.post(url, {"state": "viewing"}).content.decode()
    html = charlie.post(url, {"state": "viewing"}).content.decode()
    assert "Bob Agent is viewing this ticket" in html
    assert "Charlie Light" not in html


def test_it_says_when_the_other_agent_is_typing_a_reply(cast: Cast) -> None:
    ticket = conversation(cast)
    bob, charlie = agent_client(cast.bob), agent_client(cast.charlie)
    url = f"/desk/tickets/{ticket.number}/presence/"
    bob.post(url, {"state": "typing"})
    bob.post(url, {"state": "viewing"})  # the page's heartbeat keeps a fresh typing state
    assert "Bob Agent is typing a reply" in charlie.post(url, {"state": "viewing"}).content.decode()


def test_it_forgets_an_agent_who_left_the_page(cast: Cast) -> None:
    ticket = conversation(cast)
    note_presence(ticket, cast.bob, "typing")
    TicketPresence.objects.filter(agent=cast.bob).update(seen_at=timezone.now() - dt.timedelta(minutes=1))
    html = agent_client(cast.charlie).post(f"/desk/tickets/{ticket.number}/presence/").content.decode()
    assert "Bob Agent" not in html


def test_it_shows_the_warning_on_the_page_as_a_status_message(cast: Cast) -> None:
    ticket = conversation(cast)
    note_presence(ticket, cast.bob, "viewing")
    html = agent_client(cast.charlie).get(f"/desk/tickets/{ticket.number}/").content.decode()
    start = html.index('id="presence"')
    region = html[html.rindex("<div", 0, start) : html.index("</div>", start)]
    assert 'role="status"' in region and 'aria-live="polite"' in region
    assert "Bob Agent is viewing this ticket" in region


def test_it_records_no_presence_on_a_ticket_the_agent_cannot_see(cast: Cast) -> None:
    ticket = conversation(cast)
    assert agent_client(cast.dave).post(f"/desk/tickets/{ticket.number}/presence/").status_code == 404
    assert not TicketPresence.objects.filter(agent=cast.dave).exists()
