"""The priority policy weighs what the insight engine reads: the category's default priority as
severity (only for a category an agent chose or one confident enough to route on) and the
customer's deadline words or repeated contact as urgency. Sentiment never moves priority."""

from __future__ import annotations

from regulars.insights.services import correct_category, update_category, update_settings
from regulars.sla.priority.models import PriorityAssessment
from regulars.tickets.models import Ticket
from regulars.tickets.services import post_message

from .conftest import open_and_triage


def _priority(ticket: Ticket) -> tuple[str, str]:
    ticket.refresh_from_db()
    return ticket.priority, PriorityAssessment.objects.get(ticket=ticket).reason


def test_a_confident_category_sets_the_severity(
    cast, trained, categories, django_capture_on_commit_callbacks
):
    update_category(actor=cast.alice, category=categories["Login"], default_priority="high")
    ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "My password does not work")
    priority, reason = _priority(ticket)
    assert priority == "high"
    assert 'category "Login"' in reason


def test_a_low_category_lowers_it(cast, trained, categories, django_capture_on_commit_callbacks):
    update_category(actor=cast.alice, category=categories["Delivery"], default_priority="low")
    ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "Where is my parcel?")
    assert _priority(ticket)[0] == "low"


def test_a_guess_below_the_routing_threshold_moves_nothing_until_an_agent_confirms_it(
    cast, trained, categories, django_capture_on_commit_callbacks
):
    update_category(actor=cast.alice, category=categories["Login"], default_priority="urgent")
    update_settings(actor=cast.alice, route_threshold=0.999)
    ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "My password does not work")
    priority, reason = _priority(ticket)
    assert priority == "normal" and "category" not in reason

    with django_capture_on_commit_callbacks(execute=True):
        correct_category(ticket, categories["Login"], actor=cast.bob)
    priority, reason = _priority(ticket)
    assert priority == "urgent"
    assert 'category "Login"' in reason


def test_deadline_words_make_it_urgent_to_the_customer(cast, trained, django_capture_on_commit_callbacks):
    calm = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "Where is my parcel?")
    pressed = open_and_triage(
        django_capture_on_commit_callbacks, cast.carol, "Where is my parcel?", "I need it today, asap please."
    )
    assert _priority(calm)[0] == "normal"
    priority, reason = _priority(pressed)
    assert priority == "high"
    assert 'stated urgency high (customer wrote "asap")' in reason


def test_what_the_customer_states_outright_beats_what_their_words_suggest(
    cast, trained, django_capture_on_commit_callbacks
):
    ticket = open_and_triage(
        django_capture_on_commit_callbacks, cast.carol, "Where is my parcel?", "Whenever, no rush: asap is fine",
        tags=["urgency:low"],
    )  # fmt: skip
    priority, reason = _priority(ticket)
    assert priority == "low"
    assert "stated urgency low (tag urgency:low)" in reason


def test_a_third_message_in_a_day_makes_it_urgent(cast, trained, django_capture_on_commit_callbacks):
    ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "Where is my parcel?")
    assert _priority(ticket)[0] == "normal"
    for text in ("Any news on my parcel?", "Hello? Still nothing."):
        with django_capture_on_commit_callbacks(execute=True):
            post_message(ticket, author=cast.carol_user, body=text, public=True)
    priority, reason = _priority(ticket)
    assert priority == "high"
    assert "3 messages in a day" in reason


def test_an_outage_word_counts_once_and_anger_not_at_all(cast, trained, django_capture_on_commit_callbacks):
    down = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "The site is down")
    angry = open_and_triage(
        django_capture_on_commit_callbacks, cast.carol, "Where is my parcel?",
        "This is awful, terrible, the worst service ever. I am furious and disgusted.",
    )  # fmt: skip
    # "down" is a severity word of the policy; the insight's outage signal does not add urgency.
    assert _priority(down)[0] == "high"
    assert _priority(angry)[0] == "normal"


def test_an_agents_priority_stays(cast, trained, categories, django_capture_on_commit_callbacks):
    from regulars.tickets.services import update_ticket

    ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "My password does not work")
    with django_capture_on_commit_callbacks(execute=True):
        update_ticket(ticket, actor=cast.bob, priority="low", priority_reason="known issue, fix tonight")
    update_category(actor=cast.alice, category=categories["Login"], default_priority="urgent")
    with django_capture_on_commit_callbacks(execute=True):
        correct_category(ticket, categories["Login"], actor=cast.bob)
    ticket.refresh_from_db()
    assert ticket.priority == "low"
    assert PriorityAssessment.objects.get(ticket=ticket).priority == "urgent"  # recorded, not applied
