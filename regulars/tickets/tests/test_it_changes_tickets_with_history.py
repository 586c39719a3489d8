from __future__ import annotations

import pytest

from regulars.core.errors import Conflict, ValidationFailed
from regulars.core.testing import Cast
from regulars.tickets.models import Status, TicketEvent
from regulars.tickets.services import open_follow_up, open_ticket, post_message, update_ticket


def test_it_records_every_field_change_with_old_and_new_values(cast: Cast) -> None:
    ticket = open_ticket(subject="Old", body="b", requester=cast.carol)
    update_ticket(
        ticket, actor=cast.bob, subject="New", team=cast.support, assignee=cast.bob, tags=["vip", "Billing"]
    )
    changes = {
        e.field: (e.old, e.new) for e in TicketEvent.objects.filter(ticket=ticket).exclude(action="created")
    }
    assert changes["subject"] == ("Old", "New")
    assert changes["team"] == (None, cast.support.public_id)
    assert changes["assignee"] == (None, cast.bob.public_id)
    assert changes["tags"] == ([], ["billing", "vip"])


def test_it_asks_why_before_changing_priority_and_keeps_the_reason(cast: Cast) -> None:
    ticket = open_ticket(subject="Slow", body="b", requester=cast.carol)
    assert ticket.priority == "normal" and ticket.priority_reason == "default"
    with pytest.raises(ValidationFailed) as excinfo:
        update_ticket(ticket, actor=cast.bob, priority="urgent")
    assert "priority_reason" in excinfo.value.fields
    ticket = update_ticket(ticket, actor=cast.bob, priority="urgent", priority_reason="whole site down")
    assert ticket.priority == "urgent"
    assert ticket.priority_reason.startswith("whole site down")


def test_it_refuses_to_rewrite_history(cast: Cast) -> None:
    ticket = open_ticket(subject="s", body="b", requester=cast.carol)
    event = TicketEvent.objects.get(ticket=ticket)
    event.action = "forged"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_it_moves_status_along_with_the_conversation(cast: Cast) -> None:
    ticket = open_ticket(subject="s", body="b", requester=cast.carol)
    post_message(ticket, author=cast.bob, body="answer", public=True)
    ticket.refresh_from_db()
    assert ticket.status_category == "open"
    update_ticket(ticket, actor=cast.bob, status=Status.objects.get(slug="pending"))
    post_message(ticket, author=cast.carol_user, body="here you go", public=True)
    ticket.refresh_from_db()
    assert ticket.status_category == "open"
    post_message(ticket, author=cast.bob, body="internal", public=False)
    ticket.refresh_from_db()
    assert ticket.status_category == "open"


def test_it_keeps_closed_tickets_closed_and_opens_a_linked_follow_up(cast: Cast) -> None:
    ticket = open_ticket(subject="Done", body="b", requester=cast.carol, tags=["billing"])
    update_ticket(ticket, actor=cast.bob, status=Status.objects.get(slug="closed"))
    with pytest.raises(Conflict):
        post_message(ticket, author=cast.carol_user, body="one more thing", public=True)
    with pytest.raises(Conflict):
        update_ticket(ticket, actor=cast.bob, subject="reopen?")
    follow_up = open_follow_up(ticket, actor=cast.bob, body="one more thing")
    assert follow_up.follow_up_of == ticket
    assert follow_up.requester == cast.carol
    assert list(follow_up.tags.values_list("name", flat=True)) == ["billing"]


def test_it_refuses_assigning_to_a_customer_or_light_agent(cast: Cast) -> None:
    ticket = open_ticket(subject="s", body="b", requester=cast.carol)
    for person in (cast.carol_user, cast.charlie):
        with pytest.raises(ValidationFailed):
            update_ticket(ticket, actor=cast.bob, assignee=person)


def test_it_lets_a_rule_set_priority_with_its_reason_and_history(cast: Cast) -> None:
    from regulars.tickets.services import apply_priority

    ticket = open_ticket(subject="Outage", body="down", requester=cast.carol)
    ticket = apply_priority(ticket, priority="urgent", reason="severity: outage words; impact: 12 customers")
    assert ticket.priority == "urgent"
    event = ticket.history.get(action="priority_changed")
    assert event.actor is None and event.new["reason"].startswith("severity")
    with pytest.raises(ValidationFailed):
        apply_priority(ticket, priority="urgent", reason=" ")


def test_it_records_a_system_event_for_agents_only(cast: Cast) -> None:
    from regulars.tickets.selectors import search_tickets, visible_messages
    from regulars.tickets.services import post_system_event

    ticket = open_ticket(subject="s", body="b", requester=cast.carol)
    event = post_system_event(ticket, text="Delivery report: the quokka mailbox is full (4.2.2)")
    assert event.kind == "event" and event.author_type == "system"
    assert event in visible_messages(cast.bob, ticket)
    assert event not in visible_messages(cast.carol_user, ticket)
    assert [t.number for t in search_tickets(cast.bob, "quokka")] == [ticket.number]
    assert search_tickets(cast.carol_user, "quokka") == []
    assert ticket.history.filter(action="message_added", field="event").exists()


def test_it_links_a_follow_up_from_any_path_on_both_tickets(cast: Cast) -> None:
    closed = open_ticket(subject="Done", body="b", requester=cast.carol)
    update_ticket(closed, actor=cast.bob, status=Status.objects.get(slug="closed"))
    follow_up = open_ticket(
        subject="Again", body="b", requester=cast.carol, channel="email", follow_up_of=closed
    )
    assert closed.history.get(action="follow_up_opened").new == {"ticket": follow_up.number}
