"""An agent's choice of priority is final: the policy records its view but never overwrites it."""

from __future__ import annotations

from regulars.sla.priority.models import PriorityAssessment
from regulars.tickets.models import Ticket
from regulars.tickets.services import post_message, update_ticket

from .conftest import customer, ticket


def test_it_assesses_a_new_ticket_when_it_is_opened(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        t = ticket(customer(), subject="Site down")
    t.refresh_from_db()
    assert t.priority == "high"
    assert PriorityAssessment.objects.get(ticket=t).priority == "high"


def test_it_reassesses_when_the_customer_writes_again(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        t = ticket(customer())
    with django_capture_on_commit_callbacks(execute=True):
        post_message(
            t, author=None, as_customer=t.requester, body="We are now losing data: data loss!", public=True
        )
    t.refresh_from_db()
    assert t.priority == "urgent"


def test_it_never_overwrites_an_agents_choice(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        t = ticket(customer(), subject="Site down")
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(t, actor=cast.bob, priority="low", priority_reason="Known, fixed in next deploy")
    assessment = PriorityAssessment.objects.get(ticket=t)
    assert assessment.overridden_by == cast.bob
    with django_capture_on_commit_callbacks(execute=True):
        post_message(
            t, author=None, as_customer=t.requester, body="Still down! Outage! Data loss!", public=True
        )
    t = Ticket.objects.get(pk=t.pk)
    assert t.priority == "low"
    assert t.priority_reason == "Known, fixed in next deploy (Bob Agent)"
    assessment.refresh_from_db()
    assert assessment.priority == "urgent"  # what the policy would say, kept for display
    assert assessment.overridden_by == cast.bob


def test_it_respects_a_priority_an_agent_chose_when_opening(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        t = ticket(
            customer(), subject="Site down", actor=cast.bob, priority="low", priority_reason="test system"
        )
    t.refresh_from_db()
    assert t.priority == "low"
    assert PriorityAssessment.objects.get(ticket=t).overridden_by == cast.bob


def test_it_ignores_agent_replies_and_notes(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        t = ticket(customer())
    before = PriorityAssessment.objects.get(ticket=t).assessed_at
    with django_capture_on_commit_callbacks(execute=True):
        post_message(t, author=cast.bob, body="Is the site down for you? outage?", public=True)
    t.refresh_from_db()
    assert t.priority == "normal"
    assert PriorityAssessment.objects.get(ticket=t).assessed_at == before
