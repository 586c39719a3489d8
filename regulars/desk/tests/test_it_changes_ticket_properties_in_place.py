"""Status, priority, assignee, team, tags and fields change from small forms on the page."""

from __future__ import annotations

import pytest

from regulars.core.models import CustomFieldDefinition
from regulars.core.testing import Cast
from regulars.desk.tests.workspace_data import agent_client, conversation
from regulars.tickets.models import TicketEvent

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_it_answers_htmx_with_the_properties_fragment_and_a_plain_post_with_a_redirect(cast: Cast) -> None:
    ticket = conversation(cast)
    bob = agent_client(cast.bob)
    url = f"/desk/tickets/{ticket.number}/assignee/"
    response = bob.post(url, {"assignee-assignee": cast.bob.public_id}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="ticket-properties"')
    assert "Assignee saved." in html
    ticket.refresh_from_db()
    assert ticket.assignee == cast.bob
    response = bob.post(url, {"assignee-assignee": ""})
    assert response.status_code == 302 and response["Location"].endswith("#ticket-properties")
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_it_asks_why_before_changing_the_priority_and_shows_the_reason(cast: Cast) -> None:
    ticket = conversation(cast)
    bob = agent_client(cast.bob)
    url = f"/desk/tickets/{ticket.number}/priority/"
    html = bob.post(url, {"priority-priority": "urgent", "priority-reason": ""}, **HTMX).content.decode()
    assert "Say why the priority changes." in html
    ticket.refresh_from_db()
    assert ticket.priority == "normal"
    html = bob.post(
        url, {"priority-priority": "urgent", "priority-reason": "Payroll run blocked"}, **HTMX
    ).content.decode()
    ticket.refresh_from_db()
    assert ticket.priority == "urgent"
    assert "Why: Payroll run blocked (Bob Agent)" in html
    # The header badge changes with it, out of band.
    assert 'id="ticket-badges" hx-swap-oob="true"' in html and "Urgent priority" in html


def test_it_changes_status_team_tags_and_custom_fields_with_history(cast: Cast) -> None:
    CustomFieldDefinition.objects.create(
        target="ticket", key="plan_tier", label="Plan tier", field_type="choice", choices=["gold", "silver"]
    )
    CustomFieldDefinition.objects.create(target="ticket", key="seats", label="Seats", field_type="number")
    ticket = conversation(cast)
    bob = agent_client(cast.bob)
    n = ticket.number
    bob.post(f"/desk/tickets/{n}/status/", {"status-status": "pending"}, **HTMX)
    bob.post(f"/desk/tickets/{n}/team/", {"team-team": cast.billing.public_id}, **HTMX)
    bob.post(f"/desk/tickets/{n}/tags/", {"tags-tags": "export, VIP"}, **HTMX)
    html = bob.post(
        f"/desk/tickets/{n}/fields/", {"cf-plan_tier": "gold", "cf-seats": "12"}, **HTMX
    ).content.decode()
    assert "Fields saved." in html
    ticket.refresh_from_db()
    assert ticket.status.slug == "pending" and ticket.team == cast.billing
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["export", "vip"]
    assert ticket.custom_fields == {"plan_tier": "gold", "seats": 12}
    changed = set(TicketEvent.objects.filter(ticket=ticket, actor=cast.bob).values_list("field", flat=True))
    assert {"status", "team", "tags", "custom_fields"} <= changed


def test_it_shows_a_light_agent_the_properties_without_controls_and_refuses_changes(cast: Cast) -> None:
    ticket = conversation(cast)
    charlie = agent_client(cast.charlie)
    html = charlie.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Save status" not in html and "Assign</button>" not in html and "<dt>Assignee</dt>" in html
    response = charlie.post(f"/desk/tickets/{ticket.number}/status/", {"status-status": "solved"}, **HTMX)
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status.slug != "solved"
