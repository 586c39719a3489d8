"""Each customer message gets a sentiment and urgency signals, summarised per ticket and customer."""

from __future__ import annotations

import pytest

from regulars.insights import signals
from regulars.insights.models import MessageInsight
from regulars.insights.selectors import customer_sentiment, ticket_sentiment
from regulars.tickets.services import post_message

from .conftest import open_and_triage


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thank you so much, this is wonderful service!", "positive"),
        ("This is terrible. I am furious and disappointed.", "negative"),
        ("The parcel was sent on Tuesday.", "neutral"),
    ],
)
def test_it_labels_clear_examples(text, expected):
    assert signals.sentiment_of(signals.compound(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Your whole site is down and nobody can log in", ["outage:is down"]),
        ("If this is not fixed I will contact my lawyer", ["legal:lawyer"]),
        ("We had data loss, fix it urgently", ["outage:data loss", "deadline:urgently"]),
        ("How do I download my invoice?", []),
        ("I want to sue", ["legal:sue"]),
        ("Pursue the refund please", []),
    ],
)
def test_it_finds_urgency_signals_as_whole_words(text, expected):
    assert signals.urgency_signals(text) == expected


def test_it_scores_each_customer_message_and_summarises_the_ticket(cast, django_capture_on_commit_callbacks):
    ticket = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "Thanks, the new app is great!")
    with django_capture_on_commit_callbacks(execute=True):
        post_message(ticket, author=cast.bob, body="Glad to hear it", public=True)
        post_message(ticket, author=None, as_customer=cast.carol, public=True,
                     body="Now it crashed and I lost all my data. This is awful.")  # fmt: skip
    rows = list(MessageInsight.objects.filter(ticket=ticket).order_by("id"))
    assert [r.sentiment for r in rows] == ["positive", "negative"]  # the agent's reply is not scored
    assert "outage:lost all" in rows[1].signals
    summary = ticket_sentiment(ticket)
    assert summary.messages == 2
    assert summary.latest == "negative"
    assert summary.counts == {"positive": 1, "negative": 1}
    assert summary.max_urgency == 1 and summary.signals == ["outage"]
    assert customer_sentiment(cast.bob, cast.carol).messages == 2


def test_it_flags_repeated_contact_from_the_third_message_in_a_day(cast, django_capture_on_commit_callbacks):
    first = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "Where is my order?")
    second = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "Hello? Where is my order?")
    with django_capture_on_commit_callbacks(execute=True):
        third = post_message(first, author=None, as_customer=cast.carol, public=True, body="Still nothing.")
    counts = [MessageInsight.objects.get(message=m).contact_count for m in
              (first.messages.first(), second.messages.first(), third)]  # fmt: skip
    assert counts == [1, 2, 3]
    assert "repeated_contact:3" in MessageInsight.objects.get(message=third).signals


def test_it_does_not_count_other_customers_messages(cast, django_capture_on_commit_callbacks):
    open_and_triage(django_capture_on_commit_callbacks, cast.erin, "Where is my order?")
    open_and_triage(django_capture_on_commit_callbacks, cast.erin, "Where is my order??")
    mine = open_and_triage(django_capture_on_commit_callbacks, cast.carol, "Where is my order?")
    assert MessageInsight.objects.get(message=mine.messages.first()).contact_count == 1
