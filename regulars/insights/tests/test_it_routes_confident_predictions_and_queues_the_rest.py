"""A confident prediction routes the ticket to its category's team; an unsure one waits for a person."""

from __future__ import annotations

from regulars.insights.models import TicketTriage
from regulars.insights.selectors import triage_queue
from regulars.insights.services import update_settings

from .conftest import open_and_triage


def test_it_routes_a_clear_request_above_the_threshold(cast, trained, django_capture_on_commit_callbacks):
    update_settings(actor=cast.alice, route_threshold=0.5)
    ticket = open_and_triage(
        django_capture_on_commit_callbacks, cast.carol, "I was charged twice on my invoice"
    )
    triage = TicketTriage.objects.get(ticket=ticket)
    assert triage.category.name == "Billing"
    assert triage.confidence >= 0.5
    assert triage.routed and triage.routed_team == cast.billing
    ticket.refresh_from_db()
    assert ticket.team == cast.billing
    assert ticket.history.get(action="routed").new["reason"].startswith("triage: Billing")
    assert triage.model == trained
    assert [a["category"] for a in triage.alternatives] and len(triage.alternatives) == 2
    assert ticket not in [t.ticket for t in triage_queue(cast.bob)]


def test_it_queues_a_ticket_below_the_threshold_for_a_person(
    cast, trained, django_capture_on_commit_callbacks
):
    update_settings(actor=cast.alice, route_threshold=0.95)
    ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "Where is my parcel?")
    triage = TicketTriage.objects.get(ticket=ticket)
    assert triage.category.name == "Delivery"
    assert triage.confidence < 0.95
    assert not triage.routed and triage.routed_team is None
    ticket.refresh_from_db()
    assert ticket.team is None
    assert [t.ticket for t in triage_queue(cast.bob)] == [ticket]


def test_it_leaves_tickets_alone_while_no_model_is_trained(
    cast, categories, django_capture_on_commit_callbacks
):
    ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "Where is my parcel?")
    assert not TicketTriage.objects.filter(ticket=ticket).exists()


def test_it_shows_the_queues_to_agents_only(cast, trained):
    import pytest

    from regulars.core.errors import Forbidden

    with pytest.raises(Forbidden):
        triage_queue(cast.carol_user)
