"""The empathy gate (F18): no offers to a customer who is upset, and the reasons why."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from regulars.insights.selectors import offer_gate
from regulars.tickets.services import rate_ticket

from .conftest import open_and_triage, solve


def test_a_calm_customer_may_get_offers(cast, django_capture_on_commit_callbacks):
    open_and_triage(django_capture_on_commit_callbacks, cast.carol, "Thanks, the new dashboard is lovely")
    gate = offer_gate(cast.carol)
    assert gate.allowed and gate.reasons == []


def test_a_customer_without_messages_may_get_offers(cast):
    assert offer_gate(cast.erin).allowed


def test_a_negative_latest_message_closes_the_gate(cast, django_capture_on_commit_callbacks):
    open_and_triage(
        django_capture_on_commit_callbacks, cast.carol, "This is awful. I am really disappointed."
    )
    gate = offer_gate(cast.carol)
    assert not gate.allowed
    assert "their latest message reads negative" in gate.reasons
    assert offer_gate(cast.erin).allowed  # another customer is not affected


def test_a_threat_to_leave_closes_it_even_when_worded_politely(cast, django_capture_on_commit_callbacks):
    open_and_triage(
        django_capture_on_commit_callbacks, cast.carol, "Please cancel my account, thank you for everything"
    )
    gate = offer_gate(cast.carol)
    assert not gate.allowed
    assert gate.reasons == ["they wrote of cancellation in the last 14 days"]


def test_the_gate_opens_again_after_two_quiet_weeks(cast, django_capture_on_commit_callbacks):
    open_and_triage(django_capture_on_commit_callbacks, cast.carol, "This is terrible, I hate it.")
    assert not offer_gate(cast.carol).allowed
    later = timezone.now() + dt.timedelta(days=15)
    assert offer_gate(cast.carol, now=later).allowed


def test_a_low_rating_closes_it(cast, django_capture_on_commit_callbacks):
    ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "How do I export a report?")
    solve(ticket, cast.bob)
    assert offer_gate(cast.carol).allowed
    rate_ticket(ticket, actor=cast.carol_user, score=2, comment="slow")
    gate = offer_gate(cast.carol)
    assert gate.reasons == ["they rated a ticket 1 or 2 in the last 30 days"]
