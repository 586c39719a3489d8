"""Escalation by agent judgement: another team (or person) takes over, and the reason stays."""

from __future__ import annotations

import pytest

from regulars.accounts.models import AuditLog
from regulars.core.errors import Forbidden, ValidationFailed
from regulars.core.testing import Cast
from regulars.desk.tests.workspace_data import agent_client, conversation
from regulars.tickets.models import Message, TicketEvent
from regulars.tickets.services import escalate_ticket

pytestmark = pytest.mark.django_db


def test_it_refuses_to_escalate_without_a_reason(cast: Cast) -> None:
    ticket = conversation(cast)
    with pytest.raises(ValidationFailed) as excinfo:
        escalate_ticket(ticket, actor=cast.bob, team=cast.billing, reason="  ")
    assert "reason" in excinfo.value.fields
    ticket.refresh_from_db()
    assert ticket.team == cast.support


def test_it_hands_the_ticket_to_the_team_and_person_and_records_why(cast: Cast) -> None:
    ticket = conversation(cast)
    ticket = escalate_ticket(
        ticket, actor=cast.bob, team=cast.billing, assignee=cast.dave, reason="Refund needs billing rights"
    )
    ticket.refresh_from_db()
    assert ticket.team == cast.billing and ticket.assignee == cast.dave
    event = TicketEvent.objects.get(ticket=ticket, action="escalated")
    assert event.actor == cast.bob
    assert event.old == {"team": cast.support.public_id, "assignee": None}
    assert event.new == {
        "team": cast.billing.public_id, "assignee": cast.dave.public_id, "reason": "Refund needs billing rights"
    }  # fmt: skip
    note = Message.objects.filter(ticket=ticket, kind=Message.Kind.EVENT).last()
    assert (
        note is not None and "Refund needs billing rights" in note.body_text and "Billing" in note.body_text
    )
    assert AuditLog.objects.filter(action="ticket.escalated", object_id=str(ticket.number)).exists()


def test_it_leaves_the_ticket_unassigned_in_the_new_teams_queue_when_nobody_is_named(cast: Cast) -> None:
    ticket = conversation(cast)
    ticket = escalate_ticket(ticket, actor=cast.bob, team=cast.billing, reason="Billing question")
    assert ticket.team == cast.billing and ticket.assignee is None


def test_it_lets_only_full_agents_escalate(cast: Cast) -> None:
    ticket = conversation(cast)
    with pytest.raises(Forbidden):
        escalate_ticket(ticket, actor=cast.charlie, team=cast.billing, reason="I think so")
    with pytest.raises(Forbidden):
        escalate_ticket(ticket, actor=cast.carol_user, team=cast.billing, reason="Me too")


def test_it_escalates_from_the_desk_and_asks_again_without_a_reason(cast: Cast) -> None:
    ticket = conversation(cast)
    bob = agent_client(cast.bob)
    url = f"/desk/tickets/{ticket.number}/escalate/"
    response = bob.post(url, {"escalate-team": cast.billing.public_id, "escalate-reason": ""}, follow=True)
    assert "Say why you escalate." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.team == cast.support
    response = bob.post(
        url,
        {"escalate-team": cast.billing.public_id, "escalate-reason": "Refund over the limit"},
        follow=True,
    )
    html = response.content.decode()
    assert "Escalated to Billing." in html and "Refund over the limit" in html
    ticket.refresh_from_db()
    assert ticket.team == cast.billing
